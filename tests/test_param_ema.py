"""Parameter EMA (Polyak averaging): the Optax link, the train step, and evaluation with θ̄."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from rich.console import Console

from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError
from dlcore.evals.split_metrics import predict_split
from dlcore.optim import build_optimizer, ema_params, param_ema
from dlcore.train import runner
from dlcore.train.loop import restore_or_init
from dlcore.train.state import TrainState
from dlcore.train.step import make_train_step
from experiments import classification
from launch import run
from launch.cli import load_config_file

from conftest import REPO


@settings(max_examples=25, deadline=None)
@given(decay=st.floats(0.0, 0.99), k=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_param_ema_equals_closed_form(decay, k, seed):
  """θ̄_k = d^k θ_0 + (1 − d) Σ_{i=1..k} d^{k−i} θ_i for any sequence of updates, and the
  updates pass through unchanged."""
  rng = np.random.default_rng(seed)
  theta = [rng.normal(size=(3, 2)).astype(np.float32)]
  tx = param_ema(decay)
  params = {"w": jnp.asarray(theta[0])}
  state = tx.init(params)
  for _ in range(k):
    u = rng.normal(size=(3, 2)).astype(np.float32)
    out, state = tx.update({"w": jnp.asarray(u)}, state, params)
    np.testing.assert_array_equal(out["w"], u)
    params = optax.apply_updates(params, out)
    theta.append(np.asarray(params["w"], np.float64))
  expected = decay**k * np.float64(theta[0]) + (1 - decay) * sum(
      decay**(k - i) * theta[i] for i in range(1, k + 1))
  np.testing.assert_allclose(ema_params(state)["w"], expected, rtol=1e-5, atol=1e-5)


def test_bad_decay_and_missing_params():
  with pytest.raises(ConfigError, match="ema_decay"):
    param_ema(1.0)
  tx = param_ema(0.9)
  with pytest.raises(ValueError, match="parameters"):
    tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.ones(2)}))
  assert ema_params(optax.adam(1e-3).init({"w": jnp.ones(2)})) is None


def test_ema_in_the_train_step_tracks_params_and_skips_nonfinite_steps():
  """Through `build_optimizer` (adam + accumulation of 2) and the guarded train step: θ̄ after
  each real update equals a NumPy EMA of the recorded parameters; it moves once per 2
  micro-batches; a NaN batch leaves it untouched."""
  decay = 0.8
  opt = ml_collections.ConfigDict(dict(name="adam", learning_rate=0.05, ema_decay=decay,
                                       accumulate_steps=2))
  tx, _ = build_optimizer(opt, 20)

  def loss_fn(params, state, batch, rngs):
    loss = jnp.mean((batch["x"] @ params["w"] - batch["y"])**2)
    return loss, {"metrics": {}}

  rng = np.random.default_rng(0)
  params = {"w": jnp.asarray(rng.normal(size=(4, 1)), jnp.float32)}
  state = TrainState.create(params=params, tx=tx, rng=jax.random.PRNGKey(0))
  step = jax.jit(make_train_step(loss_fn))
  ema = np.asarray(params["w"], np.float64)
  for i in range(8):
    batch = {"x": jnp.asarray(rng.normal(size=(8, 4)), jnp.float32),
             "y": jnp.asarray(rng.normal(size=(8, 1)), jnp.float32)}
    before = np.asarray(state.params["w"])
    state, _ = step(state, batch)
    after = np.asarray(state.params["w"])
    if i % 2 == 1:  # the second micro-batch applies the update
      assert not np.allclose(after, before)
      ema = decay * ema + (1 - decay) * np.float64(after)
    else:
      np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(state.eval_params()["w"], ema, rtol=1e-5, atol=1e-6)
  frozen = np.asarray(state.eval_params()["w"])
  bad = {"x": jnp.full((8, 4), jnp.nan), "y": jnp.zeros((8, 1))}
  state, _ = step(state, bad)
  assert int(state.nonfinite_step) >= 0
  np.testing.assert_array_equal(state.eval_params()["w"], frozen)


def test_trainer_evaluates_with_the_ema(tmp_path):
  """`optimizer.ema_decay` on the digits MLP: the logged test metrics are those of θ̄ (from the
  checkpointed optimizer state), which differ from those of the raw parameters."""
  c = load_config_file(str(REPO / "configs" / "digits_mlp.py"))
  c.train.update(num_steps=60, log_every=20, eval_every=0, checkpoint_every=60, progress=False)
  c.optimizer.ema_decay = 0.9
  result = run.train(c, tmp_path / "w")
  s, task = classification.build(c), classification.make_task(c)
  # the state the final test evaluation used: the best one (early_stopping.restore_best)
  which = runner.resolve_which(task, tmp_path / "w", "auto")
  assert which == "best"
  _, state, _, _ = restore_or_init(task, tmp_path / "w", Console(), which=which)
  ema = ema_params(state.opt_state)
  assert ema is not None
  outputs, labels = predict_split(classification.make_predict(s), state,
                                  s.data.dataset.split("test"), 1000, s.mesh)
  direct = {}
  for name, p in (("ema", ema), ("raw", state.params)):
    x = s.data.dataset.split("test")["inputs"]
    batch = make_preprocess(c.data, s.data.info)({"inputs": jnp.asarray(x)})
    logits = s.model.apply({"params": p, **state.model_state}, batch["inputs"], train=False)
    direct[name] = np.asarray(logits)
  np.testing.assert_allclose(outputs, direct["ema"], rtol=1e-5, atol=1e-5)
  assert not np.allclose(direct["ema"], direct["raw"], atol=1e-3)
  acc = float(np.mean(np.argmax(direct["ema"], -1) == labels))
  assert result["test"]["accuracy"] == pytest.approx(acc, abs=1e-6)
