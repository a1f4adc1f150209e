"""Weight initialisers by name (curriculum §6d, INIT-1, INIT-2, INIT-3, INIT-4).

Each entry of `INITIALIZERS` is a Flax-compatible init function `(key, shape, dtype) -> array`.
fan_in is the product of all axes but the last (Flax Dense kernels are (fan_in, fan_out); Conv
kernels are (kh, kw, c_in, c_out), so fan_in = kh*kw*c_in and fan_out = kh*kw*c_out).

  he_normal_seed  INIT-2  z * sqrt(2 / fan_in), z ~ N(0, 1) untruncated. Exactly the 002 §3.2 code
                          `randn(...) * np.sqrt(2.0 / fan_in)`, which the seed labels "Xavier"
                          (curriculum §0 item 5: it is He/Kaiming-normal). Used by the 4-8-4-1
                          reproduction (ARC-3).
  he_normal               truncated normal (±2 std) with std sqrt(2 / fan_in) (jax/Keras form)
  he_uniform              U(-sqrt(6 / fan_in), +sqrt(6 / fan_in))
  xavier_normal   INIT-3  truncated normal with std sqrt(2 / (fan_in + fan_out))
  xavier_uniform  INIT-3  U(-sqrt(6 / (fan_in + fan_out)), +sqrt(6 / (fan_in + fan_out)))
  lecun_normal            truncated normal with std sqrt(1 / fan_in) (Flax's Dense/Conv default)
  zeros           INIT-1  0 (biases; the perceptron's w and b); INIT-4 zero initial RNN states
  ones                    1 (e.g. a BatchNorm scale)

Aliases (same objects): glorot_normal = xavier_normal, glorot_uniform = xavier_uniform,
kaiming_normal = he_normal, kaiming_uniform = he_uniform.
Truncated normals are jax's: drawn from N(0, 1) truncated to ±2 and divided by 0.8796 (the std of
that truncated normal), so the std is exactly the target and |w| <= 2 std / 0.8796.
`compute_fans(shape)` gives the (fan_in, fan_out) all of them use.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import jax

from dlcore.registry import Registry

Initializer = Callable[..., Any]  # (key, shape, dtype=float32) -> jax.Array

INITIALIZERS: Registry[Initializer] = Registry("initializer")

_init = jax.nn.initializers
INITIALIZERS.add("he_normal_seed", _init.variance_scaling(2.0, "fan_in", "normal"))
INITIALIZERS.add("he_normal", _init.he_normal())
INITIALIZERS.add("he_uniform", _init.he_uniform())
INITIALIZERS.add("xavier_normal", _init.glorot_normal())
INITIALIZERS.add("xavier_uniform", _init.glorot_uniform())
INITIALIZERS.add("lecun_normal", _init.lecun_normal())
INITIALIZERS.add("zeros", _init.zeros)
INITIALIZERS.add("ones", _init.ones)
INITIALIZERS.add("glorot_normal", INITIALIZERS.get("xavier_normal"))
INITIALIZERS.add("glorot_uniform", INITIALIZERS.get("xavier_uniform"))
INITIALIZERS.add("kaiming_normal", INITIALIZERS.get("he_normal"))
INITIALIZERS.add("kaiming_uniform", INITIALIZERS.get("he_uniform"))


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
  """(fan_in, fan_out) of a kernel: receptive = prod(shape[:-2]); fan_in = receptive * shape[-2],
  fan_out = receptive * shape[-1]. Dense (in, out) -> (in, out); Conv (kh, kw, c_in, c_out) ->
  (kh kw c_in, kh kw c_out). The convention of jax.nn.initializers.variance_scaling defaults."""
  shape = tuple(int(s) for s in shape)
  if len(shape) < 2:
    raise ValueError(f"fans need a kernel of at least 2 axes (..., fan_in, fan_out), got {shape}")
  receptive = math.prod(shape[:-2])
  return receptive * shape[-2], receptive * shape[-1]


def get_initializer(name: str) -> Initializer:
  """The initializer registered as `name`; unknown names raise `ConfigError` listing valid ones."""
  return INITIALIZERS.get(name)
