"""dlcore.models: MLP (ARC-2), SimpleCNN (ARC-6), build_model, and "an MLP solves XOR" (ARC-1)."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from dlcore.errors import ConfigError
from dlcore.models import MLP, MODELS, Perceptron, SimpleCNN, build_model


def _key(seed):
  # The 'rbg' PRNG compiles ~2-3x faster than threefry on XLA:CPU; these tests don't depend on
  # which generator fills the weights (dlcore itself keeps JAX's default).
  return jax.random.key(seed, impl="rbg")


def _count(params):
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params))


def test_registry_names():
  assert {"mlp", "simple_cnn", "perceptron"} <= set(MODELS.names())


def test_mlp_flattens_and_returns_logits():
  model = MLP(num_outputs=10, features=(32, 16))
  x = jnp.ones((5, 28, 28, 1))
  variables = model.init(_key(0), x)
  out = model.apply(variables, x)
  assert out.shape == (5, 10)
  p = variables["params"]
  assert set(p) == {"hidden_0", "hidden_1", "output"}
  assert p["hidden_0"]["kernel"].shape == (784, 32)
  # LAY-2 parameter count: sum_l (n_{l-1} + 1) n_l
  assert _count(variables) == (784 + 1) * 32 + (32 + 1) * 16 + (16 + 1) * 10
  assert not np.allclose(np.asarray(out.sum(-1)), 1.0)  # logits, not softmax probabilities


def test_mlp_bfloat16_compute_keeps_float32_params():
  model = MLP(num_outputs=3, features=(8,), dtype="bfloat16")
  variables = model.init(_key(0), jnp.ones((2, 4)))
  assert variables["params"]["hidden_0"]["kernel"].dtype == jnp.float32
  assert model.apply(variables, jnp.ones((2, 4))).dtype == jnp.bfloat16


def test_simple_cnn_shapes_and_exact_parameter_count():
  model = SimpleCNN(num_outputs=10)
  x = jnp.ones((2, 28, 28, 1))
  variables = jax.eval_shape(model.init, _key(0), x)  # shapes only: fast
  assert jax.eval_shape(model.apply, variables, x).shape == (2, 10)
  p = variables["params"]
  assert p["conv_0"]["kernel"].shape == (3, 3, 1, 32)
  assert p["conv_1"]["kernel"].shape == (3, 3, 32, 64)
  assert p["output"]["kernel"].shape == (64 * 7 * 7, 10)  # LAY-3: 3136
  assert _count(p) == (9 * 1 * 32 + 32) + (9 * 32 * 64 + 64) + (3136 * 10 + 10) == 50186
  assert jax.eval_shape(model.apply, variables, jnp.ones((2, 28, 28))).shape == (2, 10)


def test_simple_cnn_options():
  model = SimpleCNN(num_outputs=5, hidden=16, batch_norm=True, dropout_rate=0.5)
  x = jnp.ones((2, 12, 12, 3))
  variables = jax.jit(model.init)(_key(0), x)
  assert "batch_stats" in variables and "hidden" in variables["params"]
  train = jax.jit(lambda v, x, k: model.apply(v, x, train=True, rngs={"dropout": k},
                                              mutable=["batch_stats"]))
  out, updates = train(variables, x, _key(1))
  assert out.shape == (2, 5)
  assert not np.allclose(updates["batch_stats"]["bn_0"]["mean"], 0.0)


def test_mlp_batch_norm_uses_running_stats_in_eval():
  model = MLP(num_outputs=2, features=(6,), batch_norm=True)
  x = jnp.asarray(np.random.RandomState(1).randn(16, 3) * 3 + 2, jnp.float32)
  variables = model.init(_key(0), x)
  assert "batch_stats" in variables
  stats = variables["batch_stats"]["bn_0"]
  np.testing.assert_array_equal(stats["mean"], 0.0)
  np.testing.assert_array_equal(stats["var"], 1.0)
  train_out, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
  eval_out = model.apply(variables, x, train=False)
  assert not np.allclose(train_out, eval_out, atol=1e-3)
  # Eval with running stats mean 0, var 1 is BN(h) = h / sqrt(1 + 1e-5) (gamma 1, beta 0).
  k = variables["params"]["hidden_0"]["kernel"]
  h = np.maximum(np.asarray(x) @ np.asarray(k) / np.sqrt(1 + 1e-5), 0)
  p = variables["params"]["output"]
  np.testing.assert_allclose(eval_out, h @ np.asarray(p["kernel"]) + np.asarray(p["bias"]),
                             rtol=1e-4, atol=1e-5)
  # Running mean moves 1% of the way to the batch mean (momentum 0.99).
  batch_mean = (np.asarray(x) @ np.asarray(k)).mean(0)
  np.testing.assert_allclose(updates["batch_stats"]["bn_0"]["mean"], 0.01 * batch_mean,
                             rtol=1e-4, atol=1e-6)


def test_dropout_only_in_training_and_needs_an_rng():
  model = MLP(num_outputs=4, features=(64,), dropout_rate=0.5)
  x = jnp.ones((3, 10))
  variables = model.init(_key(0), x)
  eval_a = model.apply(variables, x)
  np.testing.assert_array_equal(eval_a, model.apply(variables, x, train=False))
  with pytest.raises(Exception, match="dropout"):
    model.apply(variables, x, train=True)
  train = jax.jit(lambda k: model.apply(variables, x, train=True, rngs={"dropout": k}))
  t1, t2 = train(_key(1)), train(_key(2))
  assert not np.allclose(t1, eval_a) and not np.allclose(t1, t2)


def test_build_model_passes_fields_and_num_outputs():
  cfg = ml_collections.ConfigDict({"name": "mlp", "features": [16, 8], "activation": "tanh"})
  model = build_model(cfg, num_outputs=3)
  assert isinstance(model, MLP)
  assert model.features == (16, 8) and model.activation == "tanh" and model.num_outputs == 3
  cnn = build_model(ml_collections.ConfigDict({"name": "simple_cnn", "hidden": 32}), 10)
  assert isinstance(cnn, SimpleCNN) and cnn.hidden == 32
  assert isinstance(build_model({"name": "perceptron"}, 1), Perceptron)


def test_build_model_unknown_key_names_key_model_and_suggestion():
  cfg = ml_collections.ConfigDict({"name": "mlp", "featurs": [16]})
  with pytest.raises(ConfigError) as err:
    build_model(cfg, num_outputs=3)
  msg = str(err.value)
  assert "featurs" in msg and "'mlp'" in msg and "'features'" in msg


def test_build_model_unknown_name_lists_valid_names():
  with pytest.raises(ConfigError) as err:
    build_model(ml_collections.ConfigDict({"name": "mpl"}), num_outputs=3)
  msg = str(err.value)
  assert "mpl" in msg and "mlp" in msg and "simple_cnn" in msg and "perceptron" in msg
  with pytest.raises(ConfigError, match="name"):
    build_model(ml_collections.ConfigDict({"features": [3]}), num_outputs=3)


# ---------------------------------------------------------------- XOR (ARC-1 acceptance)

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([0, 1, 1, 0], np.int32)


def _train_xor(features, activation, steps=600, seed=0):
  model = MLP(num_outputs=2, features=features, activation=activation)
  params = model.init(_key(seed), XOR_X)["params"]
  opt = optax.adam(0.05)

  def loss_fn(p):
    logits = model.apply({"params": p}, XOR_X)
    return optax.softmax_cross_entropy_with_integer_labels(logits, XOR_Y).mean()

  def step(carry, _):
    p, s = carry
    loss, g = jax.value_and_grad(loss_fn)(p)
    updates, s = opt.update(g, s, p)
    return (optax.apply_updates(p, updates), s), loss

  (params, _), losses = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), None,
                                                       length=steps))(params)
  pred = np.asarray(model.apply({"params": params}, XOR_X).argmax(-1))
  return (pred == XOR_Y).mean(), np.asarray(losses)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_solves_xor(activation):
  acc, losses = _train_xor((8,), activation)
  assert acc == 1.0
  assert losses[-1] < 0.05


def test_linear_model_cannot_solve_xor():
  acc, losses = _train_xor((), "relu")
  assert acc <= 0.75  # no line separates XOR: at most 3 of 4 points
  assert losses[-1] > 0.6  # stays near log 2 = 0.693 (the best linear fit predicts 1/2)
