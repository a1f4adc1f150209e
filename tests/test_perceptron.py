"""ARC-1 perceptron, Algorithm 1 of 002 §2.1: converges on separable data, never on XOR."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.models import Perceptron, labels_to_pm1, perceptron_fit


def _zero_params(d):
  return Perceptron().init(jax.random.key(0), jnp.zeros((1, d)))


def _numpy_algorithm_1(x, y, lr, epochs, dtype=np.float64):
  """Algorithm 1 written out by hand: w = 0, b = 0; for each example, update if y(wᵀx + b) <= 0."""
  w, b = np.zeros(x.shape[1], dtype), dtype(0)
  mistakes = []
  for _ in range(epochs):
    count = 0
    for xi, yi in zip(x.astype(dtype), y.astype(dtype)):
      if yi * (np.dot(w, xi) + b) <= 0:
        w = w + dtype(lr) * yi * xi
        b = b + dtype(lr) * yi
        count += 1
    mistakes.append(count)
    if count == 0:
      break
  return w, b, mistakes


def test_init_is_zero_and_predict_is_sign():
  variables = _zero_params(3)
  np.testing.assert_array_equal(variables["params"]["w"], np.zeros(3))
  assert variables["params"]["b"].shape == ()
  model = Perceptron()
  v = {"params": {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array(0.5)}}
  x = jnp.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 3.0], [-1, 0, 1.0]])
  np.testing.assert_allclose(model.apply(v, x), [-0.5, 0.5, 0.0, 0.0])
  np.testing.assert_array_equal(model.apply(v, x, method="predict"), [-1, 1, 1, 1])  # sign(0) = +1


def test_labels_to_pm1():
  np.testing.assert_array_equal(labels_to_pm1(np.array([0, 1, 1, 0])), [-1, 1, 1, -1])
  np.testing.assert_array_equal(labels_to_pm1(np.array([True, False])), [1, -1])


def test_converges_on_sum4_data():
  rs = np.random.RandomState(42)
  x = rs.randn(1000, 4)
  y = np.where(x.sum(1) > 0, 1.0, -1.0)
  params, hist = perceptron_fit(_zero_params(4), x, y, max_epochs=200)
  epochs = int(hist.epochs)
  assert bool(hist.converged) and 1 < epochs < 200
  assert int(hist.mistakes[epochs - 1]) == 0 and np.all(np.asarray(hist.mistakes[:epochs - 1]) > 0)
  w, b = np.asarray(params["params"]["w"], np.float64), float(params["params"]["b"])
  np.testing.assert_array_equal(np.where(x @ w + b >= 0, 1.0, -1.0), y)
  # The learned normal points along (1, 1, 1, 1), the true separating direction.
  assert np.dot(w, np.ones(4)) / (np.linalg.norm(w) * 2) > 0.95


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 6), st.integers(10, 80), st.floats(0.1, 2.0), st.integers(0, 2**31 - 1))
def test_converges_on_separable_blobs_with_margin(d, m, lr, seed):
  rs = np.random.RandomState(seed)
  u = rs.randn(d)
  u /= np.linalg.norm(u)
  offset = rs.uniform(-1, 1)
  x = rs.randn(m, d) * 2
  score = x @ u + offset
  x = x + np.outer(np.sign(score) * 0.5, u)  # push every point >= 0.5 from the plane
  x = x.astype(np.float32)
  y = np.where(x @ u + offset > 0, 1.0, -1.0).astype(np.float32)
  params, hist = perceptron_fit({"w": jnp.zeros(d), "b": jnp.zeros(())}, x, y, lr, max_epochs=500)
  assert bool(hist.converged)
  w, b = np.asarray(params["w"]), np.asarray(params["b"])
  assert np.all(y * (x @ w + b) > 0)


def test_never_converges_on_xor():
  x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
  y = labels_to_pm1(np.array([0, 1, 1, 0]))
  params, hist = perceptron_fit(_zero_params(2), x, y, max_epochs=50)
  assert not bool(hist.converged)
  assert int(hist.epochs) == 50
  assert np.all(np.asarray(hist.mistakes) > 0)
  w, b = np.asarray(params["params"]["w"]), float(params["params"]["b"])
  assert np.mean(np.where(x @ w + b >= 0, 1, -1) == np.asarray(y)) < 1


def test_matches_hand_written_algorithm_1_exactly():
  # Small integers and eta = 0.5 keep every float32 operation exact, so equality is exact.
  rs = np.random.RandomState(0)
  x = rs.randint(-3, 4, size=(30, 3)).astype(np.float32)
  y = np.where(x @ np.array([1.0, -2.0, 0.5]) + 0.25 > 0, 1.0, -1.0).astype(np.float32)
  for epochs in (1, 2, 3):
    params, hist = perceptron_fit(_zero_params(3), x, y, learning_rate=0.5, max_epochs=epochs)
    w, b, mistakes = _numpy_algorithm_1(x, y, 0.5, epochs)
    np.testing.assert_array_equal(np.asarray(params["params"]["w"]), w)
    assert float(params["params"]["b"]) == b
    np.testing.assert_array_equal(np.asarray(hist.mistakes)[:len(mistakes)], mistakes)
    assert int(hist.epochs) == len(mistakes)


def test_matches_hand_written_algorithm_1_on_float_data_until_convergence():
  rs = np.random.RandomState(42)
  x = rs.randn(200, 4).astype(np.float32)
  y = np.where(x.sum(1) > 0, 1.0, -1.0).astype(np.float32)
  params, hist = perceptron_fit(_zero_params(4), x, y, max_epochs=100)
  w, b, mistakes = _numpy_algorithm_1(x, y, 1.0, 100, dtype=np.float32)
  assert int(hist.epochs) == len(mistakes) and bool(hist.converged) == (mistakes[-1] == 0)
  np.testing.assert_array_equal(np.asarray(hist.mistakes)[:len(mistakes)], mistakes)
  np.testing.assert_allclose(np.asarray(params["params"]["w"]), w, rtol=1e-5, atol=1e-5)


def test_perceptron_is_binary_only():
  with pytest.raises(ConfigError, match="num_outputs"):
    Perceptron(num_outputs=3).init(jax.random.key(0), jnp.zeros((1, 2)))
