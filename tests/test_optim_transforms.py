"""Clipping (REG-7), coupled L2 (REG-1), MultiSteps, freezing (SCH-6), parameter EMA and the
config contract of `build_optimizer`."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from dlcore.errors import ConfigError
from dlcore.optim import OPTIMIZERS, build_optimizer, ema_update, freeze_labels


def cfg(name="sgd", lr=1.0, **kw):
  return ml_collections.ConfigDict(dict(name=name, learning_rate=lr, **kw))


def params_tree(seed=0):
  rng = np.random.default_rng(seed)
  return {"Dense_0": {"kernel": jnp.asarray(rng.normal(size=(3, 4)), jnp.float32),
                      "bias": jnp.asarray(rng.normal(size=(4,)), jnp.float32)},
          "Dense_1": {"kernel": jnp.asarray(rng.normal(size=(4, 2)), jnp.float32),
                      "bias": jnp.asarray(rng.normal(size=(2,)), jnp.float32)}}


def one_update(c, grads, params):
  tx, _ = build_optimizer(c, 10)
  updates, _ = tx.update(grads, tx.init(params), params)
  return updates


def leaves(tree):
  return [np.asarray(x, np.float64) for x in jax.tree.leaves(tree)]


@pytest.mark.parametrize("scale", [0.1, 10.0])
def test_clip_by_global_norm(scale):
  """g ← g · min(1, c/||g||), ||g|| over all leaves (sgd, lr = 1: update = −clipped g)."""
  g = jax.tree.map(lambda x: x * scale, params_tree(1))
  c = 1.5
  flat = leaves(g)
  norm = np.sqrt(sum((x ** 2).sum() for x in flat))
  got = leaves(one_update(cfg(grad_clip_norm=c), g, params_tree()))
  for u, x in zip(got, flat):
    np.testing.assert_allclose(u, -x * min(1.0, c / norm), rtol=1e-5, atol=1e-7)


def test_clip_by_value():
  g = jax.tree.map(lambda x: 3 * x, params_tree(1))
  got = leaves(one_update(cfg(grad_clip_value=0.5), g, params_tree()))
  for u, x in zip(got, leaves(g)):
    np.testing.assert_allclose(u, -np.clip(x, -0.5, 0.5), rtol=1e-6)


def test_l2_coupled_adds_lambda_over_m_w():
  """g ← g + (λ/m) W for kernels; biases untouched (mask)."""
  params, g = params_tree(), params_tree(1)
  lam, m = 0.3, 4
  got = one_update(cfg(l2_coupled=lam, l2_num_examples=m), g, params)
  for layer in params:
    np.testing.assert_allclose(got[layer]["kernel"],
                               -(g[layer]["kernel"] + lam / m * params[layer]["kernel"]),
                               rtol=1e-6)
    np.testing.assert_allclose(got[layer]["bias"], -g[layer]["bias"], rtol=1e-6)


def test_l2_coupled_equals_penalty_in_the_loss():
  """Coupled L2 through Adam = Adam on loss + (λ/2m)Σ||W||² (it passes through the moments)."""
  params = params_tree()
  x = jnp.asarray(np.random.default_rng(2).normal(size=(8, 3)), jnp.float32)
  lam, m = 0.5, 8

  def loss(p):
    return jnp.mean((jnp.tanh(x @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"])
                     @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"]) ** 2)

  def penalised(p):
    return loss(p) + lam / (2 * m) * sum(jnp.sum(p[k]["kernel"] ** 2) for k in p)

  def run(c, f):
    tx, _ = build_optimizer(c, 10)

    def step(_, carry):
      p, s = carry
      u, s = tx.update(jax.grad(f)(p), s, p)
      return optax.apply_updates(p, u), s

    return jax.jit(lambda p: jax.lax.fori_loop(0, 20, step, (p, tx.init(p)))[0])(params)

  coupled = run(cfg("adam", 0.01, l2_coupled=lam, l2_num_examples=m), loss)
  reference = run(cfg("adam", 0.01), penalised)
  for a, b in zip(leaves(coupled), leaves(reference)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_adamw_decay_is_decoupled():
  """AdamW with g = 0: the update is −α λ θ on kernels only (no Adam moment involved)."""
  params = params_tree()
  zeros = jax.tree.map(jnp.zeros_like, params)
  got = one_update(cfg("adamw", 0.1, weight_decay=0.2), zeros, params)
  np.testing.assert_allclose(got["Dense_0"]["kernel"], -0.1 * 0.2 * params["Dense_0"]["kernel"],
                             rtol=1e-6)
  np.testing.assert_array_equal(got["Dense_0"]["bias"], 0.0)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_multisteps_equals_one_step_on_mean_gradient(name):
  k = 3
  params = params_tree()
  grads = [params_tree(s) for s in (5, 6, 7)]
  tx, _ = build_optimizer(cfg(name, 0.1, accumulate_steps=k, grad_clip_norm=2.0), 30)
  state, p, update = tx.init(params), params, jax.jit(tx.update)
  for i, g in enumerate(grads):
    u, state = update(g, state, p)
    if i < k - 1:
      assert all(np.all(x == 0) for x in leaves(u))
    p = optax.apply_updates(p, u)

  ref_tx, _ = build_optimizer(cfg(name, 0.1, grad_clip_norm=2.0), 10)
  mean = jax.tree.map(lambda *xs: sum(xs) / k, *grads)
  u, _ = ref_tx.update(mean, ref_tx.init(params), params)
  for a, b in zip(leaves(p), leaves(optax.apply_updates(params, u))):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_freeze_leaves_subtree_bit_identical():
  params = params_tree()
  labels = freeze_labels(params, ["^Dense_0/"])
  assert labels["Dense_0"] == {"kernel": "frozen", "bias": "frozen"}
  assert labels["Dense_1"] == {"kernel": "train", "bias": "train"}
  tx, _ = build_optimizer(cfg("adam", 0.1, freeze=("^Dense_0/",), l2_coupled=0.1), 10)
  state, p, update = tx.init(params), params, jax.jit(tx.update)
  for s in range(5):
    u, state = update(params_tree(10 + s), state, p)
    p = optax.apply_updates(p, u)
  for key in ("kernel", "bias"):
    np.testing.assert_array_equal(np.asarray(p["Dense_0"][key]),
                                  np.asarray(params["Dense_0"][key]))
    assert not np.array_equal(np.asarray(p["Dense_1"][key]), np.asarray(params["Dense_1"][key]))


def test_ema_update():
  ema, new = params_tree(), params_tree(1)
  got = ema_update(ema, new, 0.99)
  for e, a, b in zip(leaves(got), leaves(ema), leaves(new)):
    np.testing.assert_allclose(e, 0.99 * a + 0.01 * b, rtol=1e-6)


def test_config_contract():
  params = params_tree()
  for name in OPTIMIZERS.names():  # every optimizer builds from `name` alone (defaults)
    tx, schedule = build_optimizer(ml_collections.ConfigDict(dict(name=name)), 10)
    tx.update(params, tx.init(params), params)
    assert float(schedule(0)) == pytest.approx(1e-3)
  with pytest.raises(ConfigError, match="adam"):
    build_optimizer(cfg("adma"), 10)
  with pytest.raises(ConfigError, match="optimizer.name"):
    build_optimizer(ml_collections.ConfigDict(dict(learning_rate=0.1)), 10)
  with pytest.raises(ConfigError, match="warmup_cosine"):
    build_optimizer(cfg(schedule=ml_collections.ConfigDict(dict(name="warmup_cosin"))), 10)
  with pytest.raises(ConfigError):
    build_optimizer(cfg("adamw", weight_decay_mask="bias"), 10)


def test_accumulated_schedule_spans_updates():
  """With k = 4 and 100 train steps the cosine schedule runs over 25 optimizer updates."""
  c = cfg("sgd", 1.0, accumulate_steps=4, schedule=ml_collections.ConfigDict(dict(name="cosine")))
  _, schedule = build_optimizer(c, 100)
  assert float(schedule(25)) == pytest.approx(0.0, abs=1e-7)
  assert float(schedule(12.5)) == pytest.approx(0.5, rel=1e-5)


def test_regex_decay_mask_decays_only_the_matching_kernels():
  """'re:^conv_0/' (GCN's L2 on the first layer): λW joins the gradient of conv_0/kernel only,
  not of conv_1/kernel or of any bias; a bad regex is a ConfigError."""
  from dlcore.optim.l2 import decay_mask
  params = {"conv_0": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)},
            "conv_1": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
  mask = decay_mask("re:^conv_0/")(params)
  assert mask == {"conv_0": {"kernel": True, "bias": False},
                  "conv_1": {"kernel": False, "bias": False}}
  tx, _ = build_optimizer(cfg("sgd", 1.0, l2_coupled=0.5, weight_decay_mask="re:^conv_0/"), 10)
  zeros = jax.tree.map(jnp.zeros_like, params)
  updates, _ = tx.update(zeros, tx.init(params), params)
  np.testing.assert_allclose(updates["conv_0"]["kernel"], -0.5)
  for leaf in (updates["conv_0"]["bias"], updates["conv_1"]["kernel"], updates["conv_1"]["bias"]):
    np.testing.assert_allclose(leaf, 0.0)
  with pytest.raises(ConfigError, match="regex"):
    decay_mask("re:([")
