"""ARC-3 / BP-1: the seed's 4-8-4-1 "SimpleNeuralNetwork" (002 §3.2, Listing 5) as a dlcore MLP.

The NumPy side below is Listing 5 re-typed (row layout, W stored as (fan_out, fan_in) as in the
seed): sigmoid with the ±500 clip, BCE with the 1e-15 clip, manual backprop, plain GD lr 0.01.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcore.losses import binary_cross_entropy_with_logits
from dlcore.models import MLP

MODEL = MLP(num_outputs=1, features=(8, 4), activation="relu", kernel_init="he_normal_seed")


def _sum4_data(n=1000):
  rs = np.random.RandomState(42)
  x = rs.randn(n, 4)
  return x, (x.sum(axis=1) > 0).astype(np.float64).reshape(-1, 1)


@functools.lru_cache(maxsize=None)
def _init():
  return MODEL.init(jax.random.key(0), jnp.zeros((1, 4)))["params"]  # shared: init compiles slowly


def _to_seed_layout(params):
  """Flax Dense kernels are (fan_in, fan_out); the seed's W is (fan_out, fan_in), b is (n, 1)."""
  out = {}
  for i, name in enumerate(["hidden_0", "hidden_1", "output"], start=1):
    out[f"W{i}"] = np.asarray(params[name]["kernel"], np.float64).T.copy()
    out[f"b{i}"] = np.asarray(params[name]["bias"], np.float64).reshape(-1, 1).copy()
  return out


class Listing5:
  """002 Listing 5's SimpleNeuralNetwork, methods re-typed from the seed."""

  def __init__(self, weights):
    self.__dict__.update(weights)

  @staticmethod
  def sigmoid(x):
    x = np.clip(x, -500, 500)
    return 1 / (1 + np.exp(-x))

  def forward(self, x):
    self.z1 = x.dot(self.W1.T) + self.b1.T
    self.a1 = np.maximum(0, self.z1)
    self.z2 = self.a1.dot(self.W2.T) + self.b2.T
    self.a2 = np.maximum(0, self.z2)
    self.z3 = self.a2.dot(self.W3.T) + self.b3.T
    self.a3 = self.sigmoid(self.z3)
    return self.a3

  def backward(self, x, y, y_pred):
    m = x.shape[0]
    dz3 = y_pred - y
    dW3 = (1 / m) * dz3.T.dot(self.a2)
    db3 = (1 / m) * np.sum(dz3, axis=0, keepdims=True).T
    da2 = dz3.dot(self.W3)
    dz2 = da2 * (self.z2 > 0).astype(float)
    dW2 = (1 / m) * dz2.T.dot(self.a1)
    db2 = (1 / m) * np.sum(dz2, axis=0, keepdims=True).T
    da1 = dz2.dot(self.W2)
    dz1 = da1 * (self.z1 > 0).astype(float)
    dW1 = (1 / m) * dz1.T.dot(x)
    db1 = (1 / m) * np.sum(dz1, axis=0, keepdims=True).T
    return dict(W1=dW1, b1=db1, W2=dW2, b2=db2, W3=dW3, b3=db3)

  @staticmethod
  def compute_loss(y_pred, y):
    m = y.shape[0]
    y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
    return -(1 / m) * np.sum(y * np.log(y_pred) + (1 - y) * np.log(1 - y_pred))

  def train(self, x, y, epochs=1000, learning_rate=0.01):
    losses = []
    for _ in range(epochs):
      y_pred = self.forward(x)
      losses.append(self.compute_loss(y_pred, y))
      for k, g in self.backward(x, y, y_pred).items():
        setattr(self, k, getattr(self, k) - learning_rate * g)
    return np.array(losses)


def _loss(params, x, y):
  logits = MODEL.apply({"params": params}, x)
  return binary_cross_entropy_with_logits(logits, y[:, 0]).mean()


def test_exactly_81_parameters_40_36_5():
  params = _init()
  sizes = {k: sum(int(np.prod(p.shape)) for p in jax.tree.leaves(v)) for k, v in params.items()}
  assert sizes == {"hidden_0": 40, "hidden_1": 36, "output": 5}
  assert params["hidden_0"]["kernel"].shape == (4, 8)  # the seed's W1 (8, 4), transposed
  np.testing.assert_array_equal(params["hidden_0"]["bias"], 0.0)  # biases zero (INIT-1)


def test_manual_backprop_equals_jax_grad():
  x, y = _sum4_data()
  params = _init()
  net = Listing5(_to_seed_layout(params))
  y_pred = net.forward(x)
  manual = net.backward(x, y, y_pred)
  grads = jax.grad(_loss)(params, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
  for i, name in enumerate(["hidden_0", "hidden_1", "output"], start=1):
    np.testing.assert_allclose(np.asarray(grads[name]["kernel"]).T, manual[f"W{i}"], rtol=1e-4,
                               atol=1e-5, err_msg=f"dW{i}")
    np.testing.assert_allclose(np.asarray(grads[name]["bias"]), manual[f"b{i}"][:, 0], rtol=1e-4,
                               atol=1e-5, err_msg=f"db{i}")
  # The losses agree too (the clip is inactive at these probabilities).
  loss = float(_loss(params, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)))
  np.testing.assert_allclose(loss, net.compute_loss(y_pred, y), rtol=1e-5)


def test_full_recipe_reproduction_1000_epochs_gd_lr_001():
  x, y = _sum4_data()
  params = _init()
  np_losses = Listing5(_to_seed_layout(params)).train(x, y, epochs=1000, learning_rate=0.01)

  opt = optax.sgd(0.01)
  xj, yj = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)

  def epoch(carry, _):
    p, s = carry
    loss, g = jax.value_and_grad(_loss)(p, xj, yj)  # loss before the update, as in the seed
    updates, s = opt.update(g, s, p)
    return (optax.apply_updates(p, updates), s), loss

  run = jax.jit(lambda p: jax.lax.scan(epoch, (p, opt.init(p)), None, length=1000))
  _, jax_losses = run(params)
  jax_losses = np.asarray(jax_losses, np.float64)

  np.testing.assert_allclose(jax_losses, np_losses, rtol=1e-4)
  assert np.all(np.diff(np_losses) < 0)  # strictly decreasing for all 1000 epochs
  assert np.all(np.diff(jax_losses) < 0)
  # Measured with jax.random.key(0) init: loss 0.71586 at epoch 1, 0.66945 at epoch 100, 0.25538
  # at epoch 1000 (NumPy float64 and JAX float32 agree to 6e-7 relative over all 1000 epochs).
  assert np_losses[-1] < 0.5 * np_losses[0]
