"""Weight initialisers by name (curriculum §6d, INIT-1, INIT-2, INIT-3).

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
  zeros           INIT-1  0 (biases; the perceptron's w and b)
  ones                    1 (e.g. a BatchNorm scale)
"""

from __future__ import annotations

from typing import Any, Callable

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


def get_initializer(name: str) -> Initializer:
  """The initializer registered as `name`; unknown names raise `ConfigError` listing valid ones."""
  return INITIALIZERS.get(name)
