"""dlcore.nn: activations (ACT-2..11), initialisers (INIT-1..3), pooling (LAY-8..10).

Every expectation is an independent NumPy formula, not a call back into dlcore.
"""

import math

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore import testing as dt
from dlcore.nn import (ACTIVATIONS, INITIALIZERS, avg_pool, get_activation, get_initializer,
                       global_avg_pool, max_pool, pool_output_shape)

Z = np.concatenate([np.linspace(-6, 6, 121), [-0.0, 0.0, 1e-3, -1e-3]]).astype(np.float32)


def _np_sigmoid(z):
  return 1 / (1 + np.exp(-z))


def _np_phi(z):
  return np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in z])


NUMPY_FORMULAS = {
    "sigmoid": _np_sigmoid,
    "tanh": lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
    "relu": lambda z: np.maximum(0, z),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, 1.0 * (np.exp(z) - 1)),
    "swish": lambda z: z / (1 + np.exp(-z)),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "gelu": lambda z: z * _np_phi(z),
    "gelu_tanh":
        lambda z: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z**3))),
    "identity": lambda z: z,
    "linear": lambda z: z,
    "sign": lambda z: np.where(z >= 0, 1.0, -1.0),
    "step": lambda z: np.where(z >= 0, 1.0, 0.0),
}


def test_every_registered_activation_has_a_numpy_check():
  assert set(ACTIVATIONS.names()) == set(NUMPY_FORMULAS)


@pytest.mark.parametrize("name", sorted(NUMPY_FORMULAS))
def test_activation_matches_numpy_formula(name):
  got = np.asarray(get_activation(name)(jnp.asarray(Z)))
  want = NUMPY_FORMULAS[name](Z.astype(np.float64))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_sign_of_zero_is_plus_one_and_gelu_is_exact_not_tanh():
  assert float(get_activation("sign")(jnp.float32(0.0))) == 1.0
  assert float(get_activation("step")(jnp.float32(0.0))) == 1.0
  z = jnp.float32(-1.5)  # exact and tanh-approximate GELU differ by ~2e-4 here
  assert abs(float(get_activation("gelu")(z)) - (-1.5 * _np_phi([-1.5])[0])) < 1e-6
  assert abs(float(get_activation("gelu")(z)) - float(get_activation("gelu_tanh")(z))) > 1e-4


def test_unknown_activation_is_a_config_error():
  with pytest.raises(ConfigError, match="relu"):
    get_activation("rleu")


# ---------------------------------------------------------------- initialisers


def test_he_normal_seed_is_untruncated_normal_with_std_sqrt_2_over_fan_in():
  fan_in, fan_out = 200, 1000
  w = np.asarray(get_initializer("he_normal_seed")(jax.random.key(0), (fan_in, fan_out)))
  sigma = math.sqrt(2 / fan_in)
  assert abs(w.mean()) < 0.01 * sigma
  assert abs(w.std() / sigma - 1) < 0.01  # 200k samples: sampling error ~0.2%
  # Untruncated: with 200k draws, |z| > 3 sigma happens ~540 times (p = 0.27%); a ±2σ-truncated
  # normal would have none.
  assert (np.abs(w) > 3 * sigma).sum() > 300
  # Kurtosis of a normal is 3; the truncated one is ~2.4.
  assert abs(((w / w.std())**4).mean() - 3) < 0.1


def test_he_normal_seed_uses_fan_in_of_conv_kernels():
  w = np.asarray(get_initializer("he_normal_seed")(jax.random.key(1), (3, 3, 32, 64)))
  assert abs(w.std() / math.sqrt(2 / (3 * 3 * 32)) - 1) < 0.02


def test_truncated_he_normal_keeps_the_std_but_has_no_tails():
  fan_in = 200
  w = np.asarray(get_initializer("he_normal")(jax.random.key(0), (fan_in, 1000)))
  sigma = math.sqrt(2 / fan_in)
  assert abs(w.std() / sigma - 1) < 0.02
  assert np.abs(w).max() <= 2 * sigma / 0.87962566 + 1e-6


@pytest.mark.parametrize("name,bound", [
    ("xavier_uniform", math.sqrt(6 / (300 + 500))),
    ("he_uniform", math.sqrt(6 / 300)),
])
def test_uniform_initializers_fill_their_bounds(name, bound):
  w = np.asarray(get_initializer(name)(jax.random.key(2), (300, 500)))
  assert np.abs(w).max() <= bound + 1e-7
  assert np.abs(w).max() > 0.99 * bound
  assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.02  # std of U(-a, a) is a/sqrt(3)


@pytest.mark.parametrize("name,std", [
    ("xavier_normal", math.sqrt(2 / (300 + 500))),
    ("lecun_normal", math.sqrt(1 / 300)),
])
def test_normal_initializers_have_their_std(name, std):
  w = np.asarray(get_initializer(name)(jax.random.key(3), (300, 500)))
  assert abs(w.std() / std - 1) < 0.02


def test_zeros_and_registry_names():
  assert not np.asarray(get_initializer("zeros")(jax.random.key(0), (4, 5))).any()
  assert {"he_normal_seed", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform",
          "lecun_normal", "zeros"} <= set(INITIALIZERS.names())
  with pytest.raises(ConfigError, match="he_normal"):
    get_initializer("he_norml")


# ---------------------------------------------------------------- pooling


def _np_pool(x, window, strides, reduce):
  """Reference VALID pooling by explicit loops (LAY-8/LAY-9 formulas)."""
  (kh, kw), (sh, sw) = window, strides
  b, h, w, c = x.shape
  oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
  out = np.zeros((b, oh, ow, c), x.dtype)
  for i in range(oh):
    for j in range(ow):
      out[:, i, j, :] = reduce(x[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :], axis=(1, 2))
  return out


@st.composite
def _pool_case(draw):
  kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
  h, w = draw(st.integers(kh, 13)), draw(st.integers(kw, 13))
  b, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
  seed = draw(st.integers(0, 2**31 - 1))
  return (b, h, w, c), (kh, kw), seed


@settings(max_examples=12, deadline=None)
@given(_pool_case())
def test_max_pool_fast_path_forward_equals_flax_and_numpy(case):
  shape, window, seed = case
  x = np.random.RandomState(seed).randn(*shape).astype(np.float32)
  both = jax.jit(lambda v: (max_pool(v, window),  # strides default to window
                            nn.max_pool(v, window, strides=window, padding="VALID")))
  got, flax_out = map(np.asarray, both(jnp.asarray(x)))
  np.testing.assert_array_equal(got, flax_out)
  np.testing.assert_array_equal(got, _np_pool(x, window, window, np.max))


@settings(max_examples=6, deadline=None)
@given(_pool_case())
def test_max_pool_gradient_is_one_per_window_at_the_argmax(case):
  shape, window, seed = case
  x = np.random.RandomState(seed).randn(*shape).astype(np.float32)  # continuous: no ties
  grads = jax.jit(lambda v: (jax.grad(lambda u: max_pool(u, window).sum())(v),
                             jax.grad(lambda u: nn.max_pool(u, window, strides=window).sum())(v)))
  grad, flax_grad = map(np.asarray, grads(jnp.asarray(x)))
  np.testing.assert_array_equal(grad, flax_grad)
  (kh, kw), (b, h, w, c) = window, shape
  oh, ow = h // kh, w // kw
  blocks = grad[:, :oh * kh, :ow * kw].reshape(b, oh, kh, ow, kw, c)
  np.testing.assert_array_equal(blocks.sum(axis=(2, 4)), 1.0)
  assert grad.sum() == b * oh * ow * c  # cropped rows/columns get nothing
  vals = x[:, :oh * kh, :ow * kw].reshape(b, oh, kh, ow, kw, c)
  is_max = vals == vals.max(axis=(2, 4), keepdims=True)
  np.testing.assert_array_equal(blocks, is_max.astype(np.float32))


def test_max_pool_tie_gradients_split_on_fast_path_but_not_in_flax():
  x = jnp.asarray([[1.0, 1.0], [0.0, 1.0]]).reshape(1, 2, 2, 1)
  fast = np.asarray(jax.grad(lambda v: max_pool(v, 2).sum())(x))[0, :, :, 0]
  slow = np.asarray(jax.grad(lambda v: nn.max_pool(v, (2, 2), (2, 2)).sum())(x))[0, :, :, 0]
  np.testing.assert_allclose(fast, [[1 / 3, 1 / 3], [0, 1 / 3]], rtol=1e-6)
  np.testing.assert_array_equal(slow, [[1, 0], [0, 0]])  # select-and-scatter: first maximum


def test_overlapping_max_pool_falls_back_and_matches_numpy():
  x = np.random.RandomState(0).randn(2, 9, 11, 3).astype(np.float32)
  got = np.asarray(max_pool(jnp.asarray(x), 3, strides=2))
  np.testing.assert_array_equal(got, _np_pool(x, (3, 3), (2, 2), np.max))
  same = max_pool(jnp.asarray(x), 3, strides=2, padding="SAME")
  assert same.shape == (2, 5, 6, 3)


class AvgPoolPropertyTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @settings(max_examples=6, deadline=None)
  @given(_pool_case())
  def test_avg_pool_matches_numpy(self, case):
    shape, window, seed = case
    x = np.random.RandomState(seed).randn(*shape).astype(np.float32)
    got = self.variant(lambda v: avg_pool(v, window))(x)
    chex.assert_shape(got, (shape[0], *pool_output_shape(shape[1:3], window), shape[3]))
    chex.assert_type(got, np.float32)
    chex.assert_trees_all_close(got, _np_pool(x, window, window, np.mean), rtol=1e-5, atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  @settings(max_examples=5, deadline=None)
  @given(dt.arrays(st.sampled_from([(1, 4, 4, 1), (2, 6, 2, 3)]), min_value=-5, max_value=5))
  def test_global_avg_pool_is_the_spatial_mean_and_keeps_dims(self, x):
    pooled = self.variant(lambda v: global_avg_pool(v, keepdims=True))(x)
    chex.assert_shape(pooled, (x.shape[0], 1, 1, x.shape[3]))
    chex.assert_trees_all_close(pooled, x.astype(np.float64).mean((1, 2), keepdims=True),
                                rtol=1e-5, atol=1e-5)


def test_avg_pool_overlapping_and_same_padding_divisible():
  x = np.random.RandomState(1).randn(2, 8, 8, 4).astype(np.float32)
  np.testing.assert_allclose(np.asarray(avg_pool(jnp.asarray(x), 3, strides=1)),
                             _np_pool(x, (3, 3), (1, 1), np.mean), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(avg_pool(jnp.asarray(x), 2, padding="SAME")),
                             _np_pool(x, (2, 2), (2, 2), np.mean), rtol=1e-5, atol=1e-6)


def test_global_avg_pool():
  x = np.random.RandomState(2).randn(3, 5, 7, 4).astype(np.float32)
  np.testing.assert_allclose(np.asarray(global_avg_pool(jnp.asarray(x))),
                             x.sum(axis=(1, 2)) / 35, rtol=1e-5, atol=1e-6)
  assert global_avg_pool(jnp.asarray(x), keepdims=True).shape == (3, 1, 1, 4)
