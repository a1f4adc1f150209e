"""dlcore.nn.activations: ACT-2..14 against NumPy formulas and ACT-12's closed-form derivatives.

Every expectation is an independent NumPy formula, not a call back into dlcore. Property tests
run with and without jit (chex.variants) on dlcore.testing strategies.
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore import testing as dt
from dlcore.nn import activations as A

Z = np.concatenate([np.linspace(-8, 8, 161), [-0.0, 0.0, 1e-3, -1e-3]]).astype(np.float32)
ZG = Z[Z != 0]  # derivative checks away from relu's kink


def _sig(z):
  return 1 / (1 + np.exp(-z))


NP_DERIVATIVES = {
    "sigmoid": lambda z: _sig(z) * (1 - _sig(z)),
    "tanh": lambda z: 1 - np.tanh(z)**2,
    "relu": lambda z: (z > 0).astype(float),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01),
    "elu": lambda z: np.where(z > 0, 1.0, np.exp(z)),
    "identity": np.ones_like,
    "linear": np.ones_like,
}


def _grad(fn, z):
  return np.asarray(jax.vmap(jax.grad(lambda x: fn(x)))(jnp.asarray(z)))


@pytest.mark.parametrize("name", sorted(NP_DERIVATIVES))
def test_closed_form_derivative_matches_numpy(name):
  got = np.asarray(A.DERIVATIVES[name](jnp.asarray(ZG)))
  np.testing.assert_allclose(got, NP_DERIVATIVES[name](ZG.astype(np.float64)), rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize("name", sorted(NP_DERIVATIVES))
def test_autodiff_equals_act12_closed_form(name):
  got = _grad(A.get_activation(name), ZG)
  np.testing.assert_allclose(got, np.asarray(A.DERIVATIVES[name](jnp.asarray(ZG))), rtol=1e-5,
                             atol=1e-6)


def test_relu_derivative_at_zero_is_zero_and_sigmoid_derivative_at_most_quarter():
  assert float(jax.grad(A.get_activation("relu"))(0.0)) == 0.0
  assert float(A.relu_derivative(jnp.float32(0.0))) == 0.0
  assert float(jnp.max(A.sigmoid_derivative(jnp.asarray(Z)))) <= 0.25
  assert float(A.sigmoid_derivative(jnp.float32(0.0))) == 0.25


def test_softmax_matches_numpy_and_is_a_distribution():
  rng = np.random.default_rng(0)
  z = rng.normal(size=(5, 7)).astype(np.float32) * 3
  e = np.exp(z.astype(np.float64))
  want = e / e.sum(-1, keepdims=True)
  got = np.asarray(A.softmax(jnp.asarray(z)))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-6)
  assert (got > 0).all()
  np.testing.assert_allclose(np.asarray(A.log_softmax(jnp.asarray(z))), np.log(want), atol=1e-5)
  np.testing.assert_allclose(np.asarray(A.softmax(jnp.asarray(z), axis=0)).sum(0), 1.0, rtol=1e-6)


class SoftmaxPropertyTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @settings(max_examples=10, deadline=None)
  @given(dt.arrays(st.sampled_from([(2,), (6,), (3, 4)]), min_value=-50, max_value=50),
         st.floats(-1000, 1000, width=32))
  def test_softmax_is_shift_invariant_and_sums_to_one(self, z, c):
    softmax = self.variant(A.softmax)
    p = softmax(z)
    chex.assert_equal_shape([p, z])
    chex.assert_type(p, np.float32)
    chex.assert_trees_all_close(p.sum(-1), np.ones(z.shape[:-1]), rtol=1e-5)
    chex.assert_trees_all_close(softmax(z + np.float32(c)), p, atol=1e-4)
    z64 = z.astype(np.float64) - z.max(-1, keepdims=True)
    want = z64 - np.log(np.exp(z64).sum(-1, keepdims=True))  # finite even where p underflows
    chex.assert_trees_all_close(self.variant(A.log_softmax)(z), want, rtol=1e-5, atol=1e-4)


def test_softmax_and_log_softmax_are_stable_at_plus_minus_1000():
  z = jnp.asarray([1000.0, -1000.0, 999.0, 0.0], jnp.float32)
  p = np.asarray(A.softmax(z))
  lp = np.asarray(A.log_softmax(z))
  assert np.isfinite(p).all() and np.isfinite(lp[[0, 2, 3]]).all()
  np.testing.assert_allclose(p[[0, 2]], [1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))],
                             rtol=1e-6)
  np.testing.assert_allclose(lp[[0, 2]], [-math.log1p(math.exp(-1)), -1 - math.log1p(
      math.exp(-1))], rtol=1e-6)
  assert lp[1] < -1999  # log of a tiny probability, not NaN
  big = jnp.full((3,), -1000.0)
  np.testing.assert_allclose(np.asarray(A.softmax(big)), 1 / 3, rtol=1e-6)
  g = jax.grad(lambda x: A.log_softmax(x)[0])(z)
  assert np.isfinite(np.asarray(g)).all()


def test_log_softmax_gradient_is_onehot_minus_softmax():
  z = jnp.asarray([0.3, -1.2, 2.0], jnp.float32)
  g = jax.grad(lambda x: A.log_softmax(x)[2])(z)
  e = np.exp(np.asarray(z, np.float64))
  chex.assert_shape(g, (3,))
  chex.assert_trees_all_close(g, np.eye(3)[2] - e / e.sum(), atol=1e-6)
  dt.check_grads(lambda x: A.log_softmax(x)[2], (z,))  # and against finite differences


def test_act13_without_nonlinearity_two_layers_collapse_to_one_linear_map():
  rng = np.random.default_rng(1)
  w1, b1 = rng.normal(size=(4, 6)), rng.normal(size=6)
  w2, b2 = rng.normal(size=(6, 3)), rng.normal(size=3)
  x = rng.normal(size=(10, 4))
  ident = A.get_activation("identity")
  deep = np.asarray(ident(jnp.asarray(x @ w1 + b1))) @ w2 + b2
  np.testing.assert_allclose(deep, x @ (w1 @ w2) + (b1 @ w2 + b2), rtol=1e-4, atol=1e-4)
  relu = A.get_activation("relu")  # with ReLU, f(x) + f(-x) != f(0): not linear
  u = jnp.asarray(x[0])
  assert not np.allclose(np.asarray(relu(u) + relu(-u)), np.asarray(relu(u - u)))


def test_act14_guide_names_are_known_activations():
  for role, name in A.ACTIVATION_GUIDE.items():
    assert name == "softmax" or name in A.ACTIVATIONS, role
  assert A.ACTIVATION_GUIDE["hidden"] == "relu"
  assert A.ACTIVATION_GUIDE["rnn_hidden"] == "tanh"


def test_leaky_relu_alpha_is_001():
  assert float(A.get_activation("leaky_relu")(jnp.float32(-2.0))) == pytest.approx(-0.02)
