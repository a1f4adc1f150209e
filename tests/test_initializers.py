"""dlcore.nn.initializers (INIT-1..4): fans and empirical std/bounds for Dense AND Conv kernels.

Tolerances: the sample std of n draws has relative error ~ 1/sqrt(2n) (normal) or
~ sqrt(0.8 / (4n)) (uniform: kurtosis 1.8); we allow 6 of those.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.nn.initializers import INITIALIZERS, compute_fans, get_initializer

SHAPES = [(256, 512), (3, 3, 32, 64), (5, 5, 3, 96), (7, 64, 128)]  # Dense, Conv2D x2, Conv1D
TRUNC = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def _np_fans(shape):
  receptive = int(np.prod(shape[:-2]))
  return receptive * shape[-2], receptive * shape[-1]


def test_compute_fans_for_dense_and_conv_kernels():
  assert compute_fans((20, 30)) == (20, 30)
  assert compute_fans((3, 3, 16, 32)) == (3 * 3 * 16, 3 * 3 * 32)
  assert compute_fans((5, 7, 3, 96)) == (105, 5 * 7 * 96)
  assert compute_fans((2, 3, 3, 4, 8)) == (72, 144)
  with pytest.raises(ValueError):
    compute_fans((5,))


def _std_formula(name, shape):
  fan_in, fan_out = _np_fans(shape)
  return {
      "he_normal_seed": math.sqrt(2 / fan_in),
      "he_normal": math.sqrt(2 / fan_in),
      "kaiming_normal": math.sqrt(2 / fan_in),
      "xavier_normal": math.sqrt(2 / (fan_in + fan_out)),
      "glorot_normal": math.sqrt(2 / (fan_in + fan_out)),
      "lecun_normal": math.sqrt(1 / fan_in),
  }[name]


def _bound_formula(name, shape):
  fan_in, fan_out = _np_fans(shape)
  return {
      "he_uniform": math.sqrt(6 / fan_in),
      "kaiming_uniform": math.sqrt(6 / fan_in),
      "xavier_uniform": math.sqrt(6 / (fan_in + fan_out)),
      "glorot_uniform": math.sqrt(6 / (fan_in + fan_out)),
  }[name]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["he_normal_seed", "he_normal", "kaiming_normal",
                                  "xavier_normal", "glorot_normal", "lecun_normal"])
def test_normal_initializers_have_the_formula_std(name, shape):
  w = np.asarray(get_initializer(name)(jax.random.key(5), shape), np.float64)
  assert w.shape == shape
  sigma = _std_formula(name, shape)
  n = w.size
  assert abs(w.mean()) < 6 * sigma / math.sqrt(n)
  assert abs(w.std() / sigma - 1) < 6 / math.sqrt(2 * n)
  if name == "he_normal_seed":  # untruncated: tails beyond 2.5 sigma (p = 1.24%) exist
    assert (np.abs(w) > 2.5 * sigma).mean() > 0.005
  else:  # jax truncated normal: |w| <= 2 sigma / 0.8796
    assert np.abs(w).max() <= 2 * sigma / TRUNC * (1 + 1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["he_uniform", "kaiming_uniform", "xavier_uniform",
                                  "glorot_uniform"])
def test_uniform_initializers_have_the_formula_bound(name, shape):
  w = np.asarray(get_initializer(name)(jax.random.key(6), shape), np.float64)
  a = _bound_formula(name, shape)
  n = w.size
  assert np.abs(w).max() <= a * (1 + 1e-6)
  assert np.abs(w).max() > a * (1 - 20 / n)  # the largest of n uniforms is within ~a/n of a
  assert abs(w.std() / (a / math.sqrt(3)) - 1) < 6 * math.sqrt(0.8 / (4 * n))


def test_aliases_are_the_same_functions():
  for alias, name in [("glorot_normal", "xavier_normal"), ("glorot_uniform", "xavier_uniform"),
                      ("kaiming_normal", "he_normal"), ("kaiming_uniform", "he_uniform")]:
    assert get_initializer(alias) is get_initializer(name)


def test_zero_init_for_biases_and_recurrent_states():
  for shape in [(7,), (3, 3, 4, 8), (2, 16)]:
    z = np.asarray(get_initializer("zeros")(jax.random.key(0), shape))
    assert z.shape == shape and not z.any()


def test_flax_dense_and_conv_use_the_kernel_fans():
  """Wired into Flax layers, the kernel std follows fan_in = kh kw c_in (Conv) / d_in (Dense)."""
  init = get_initializer("he_normal_seed")
  conv = nn.Conv(64, (3, 3), kernel_init=init, bias_init=get_initializer("zeros"))
  v = conv.init(jax.random.key(0), jnp.ones((1, 8, 8, 48)))
  k = np.asarray(v["params"]["kernel"])
  assert k.shape == (3, 3, 48, 64) and not np.asarray(v["params"]["bias"]).any()
  assert abs(k.std() / math.sqrt(2 / (3 * 3 * 48)) - 1) < 6 / math.sqrt(2 * k.size)
  dense = nn.Dense(300, kernel_init=init)
  k = np.asarray(dense.init(jax.random.key(1), jnp.ones((1, 500)))["params"]["kernel"])
  assert abs(k.std() / math.sqrt(2 / 500) - 1) < 6 / math.sqrt(2 * k.size)


def test_registry_keeps_existing_names():
  assert {"he_normal_seed", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform",
          "lecun_normal", "zeros", "ones", "glorot_normal", "glorot_uniform", "kaiming_normal",
          "kaiming_uniform"} == set(INITIALIZERS.names())
