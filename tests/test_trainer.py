"""The functional trainer: mesh equivalence, full-split evaluation, early stopping, layout."""

from __future__ import annotations

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.errors import ConfigError
from dlcore.evals import evaluate_split
from dlcore.metrics import compute, merge_all, predicted_class
from dlcore.optim import build_optimizer, optimizer_config
from dlcore.train import mesh as mesh_lib
from dlcore.train.checkpoint import Checkpointer
from dlcore.train.early_stopping import EarlyStopping
from dlcore.train.loop import initial_state
from dlcore.train.metric_logger import read_metrics
from dlcore.train.state import TrainState
from dlcore.train.step import compile_eval_step, make_train_step
from experiments import classification
from launch import run
from launch.cli import load_config_file

from conftest import REPO


def digits_config(**train):
  c = load_config_file(str(REPO / "configs" / "digits_mlp.py"))
  c.train.progress = False
  c.train.update(train)
  return c


def events(workdir, split):
  return [e for e in read_metrics(pathlib.Path(workdir) / "metrics.jsonl") if e["split"] == split]


def test_eight_devices_equal_one_device(tmp_path):
  """Same metrics on a 1-device and an 8-device mesh (batch sharded 8 ways) for 200 steps of an
  MLP with BatchNorm (global-batch statistics) and dropout. Tolerance: the summation order of
  the cross-device reductions differs (~1e-7 relative per step), which Adam amplifies over 200
  steps: train losses agree to 1e-4 relative, the final test loss to 2e-3 relative."""
  assert jax.device_count() == 8
  results = {}
  for n in (1, 8):
    c = digits_config(num_steps=200, log_every=20, eval_every=100, checkpoint_every=200)
    c.model.batch_norm = True
    c.mesh.num_devices = n
    results[n] = run.train(c, tmp_path / f"d{n}")
  l1 = [e["loss"] for e in events(tmp_path / "d1", "train")]
  l8 = [e["loss"] for e in events(tmp_path / "d8", "train")]
  assert len(l1) == 10
  np.testing.assert_allclose(l8, l1, rtol=1e-4, atol=1e-5)
  t1, t8 = results[1]["test"], results[8]["test"]
  np.testing.assert_allclose(t8["loss"], t1["loss"], rtol=2e-3)
  assert abs(t8["accuracy"] - t1["accuracy"]) <= 1 / 360 + 1e-9
  assert t1["num_examples"] == t8["num_examples"] == 360


def test_pmap_mode_equals_one_device(tmp_path):
  """`mesh.mode='pmap'` on 8 devices (replicated state, lax.pmean of the gradients and of the
  BatchNorm statistics) gives the 1-device jit curve: 100 steps of an MLP with BatchNorm, train
  losses to 1e-4 relative (dropout off: under pmap each device draws its own masks), with the
  training data on the device (the default) and with host batches."""
  curves = {}
  for n, mode, resident in ((1, "jit", "auto"), (8, "pmap", "auto"), (8, "pmap", "False")):
    c = digits_config(num_steps=100, log_every=10, checkpoint_every=100)
    c.model.update(batch_norm=True, dropout_rate=0.0)
    c.mesh.update(num_devices=n, mode=mode)
    c.data.device_resident = resident
    name = f"{mode}_{resident}"
    result = run.train(c, tmp_path / name)
    curves[name] = [e["loss"] for e in events(tmp_path / name, "train")]
  one = curves["jit_auto"]
  assert len(one) == 10 and one[-1] < 0.5 * one[0]
  np.testing.assert_allclose(curves["pmap_auto"], one, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(curves["pmap_False"], one, rtol=1e-4, atol=1e-6)
  assert result["test"]["num_examples"] == 360
  c.mesh.mode = "vmap"
  with pytest.raises(ConfigError, match="mesh.mode"):
    run.train(c, tmp_path / "bad")


def test_device_resident_data_gives_the_host_batch_curve_exactly(tmp_path, capsys):
  """In-memory training data lives on the device by default and each step gathers its rows by
  index: the same batches as the host path, so the same curve bit for bit."""
  curves = {}
  for setting in ("auto", "False"):
    c = digits_config(num_steps=40, log_every=10, checkpoint_every=40)
    c.data.device_resident = setting
    c.mesh.num_devices = 2
    run.train(c, tmp_path / setting)
    curves[setting] = [(e["loss"], e["accuracy"]) for e in events(tmp_path / setting, "train")]
  assert len(curves["auto"]) == 4 and curves["auto"] == curves["False"]
  assert capsys.readouterr().out.count("batches gathered by index") == 1  # 'auto' only
  from dlcore.train import resident
  assert resident.train_arrays(c, None) is None
  c.data.device_resident = "sometimes"
  with pytest.raises(ConfigError, match="device_resident"):
    resident.train_arrays(c, None)


def test_evaluation_covers_every_example_with_partial_batch(tmp_path):
  """360 test digits in batches of 64 (5 full + 1 padded): count 360, and accuracy equal to a
  direct computation over the whole split at once."""
  c = digits_config(num_steps=40, log_every=20, eval_every=40, checkpoint_every=40)
  s = classification.build(c)
  state, _ = initial_state(classification.make_task(c))
  test = s.data.dataset.split("test")
  metrics = evaluate_split(compile_eval_step(classification.eval_fn(s.objective), s.mesh), state,
                           test, 64, s.mesh)
  assert metrics["num_examples"] == 360
  x = jnp.asarray(test["inputs"], jnp.float32).reshape(360, -1) / 255.0
  logits = s.model.apply({"params": jax.device_get(state.params)}, x, train=False)
  direct = float(np.mean(np.asarray(predicted_class(logits)) == test["label"]))
  assert metrics["accuracy"] == pytest.approx(direct, abs=1e-6)


def test_early_stopping_stops_and_restores_best(tmp_path):
  """patience 1 with an unreachable min_delta: stop at the 2nd evaluation, and the final test
  metrics are those of the best (1st) evaluation's state."""
  c = digits_config(num_steps=400, log_every=10, eval_every=10, checkpoint_every=100)
  c.eval.split = "test"
  c.early_stopping.update(dict(metric="loss", mode="min", patience=1, min_delta=10.0))
  result = run.train(c, tmp_path / "run")
  evals = events(tmp_path / "run", "eval")
  assert [e["step"] for e in evals] == [10, 20]
  assert result["step"] == 20
  assert result["test"]["loss"] == pytest.approx(evals[0]["loss"], rel=1e-6)
  assert result["test"]["loss"] != pytest.approx(evals[1]["loss"], rel=1e-6)


def test_early_stopping_logic():
  es = EarlyStopping(metric="accuracy", mode="max", patience=2, min_delta=0.01)
  assert es.update({"accuracy": 0.5}, 1) == (True, False)
  assert es.update({"accuracy": 0.505}, 2) == (False, False)  # below min_delta
  assert es.update({"accuracy": 0.6}, 3) == (True, False)
  assert es.update({"accuracy": 0.59}, 4) == (False, False)
  assert es.update({"accuracy": 0.6}, 5) == (False, True)
  assert (es.best, es.best_step) == (0.6, 3)
  restored = EarlyStopping(metric="accuracy", mode="max", patience=2)
  restored.load_state_dict(es.state_dict())
  assert restored.state_dict() == es.state_dict()


def test_workdir_layout_and_schedule(tmp_path):
  c = digits_config(num_steps=60, log_every=20, eval_every=30, checkpoint_every=30)
  c.optimizer.schedule.name = "warmup_cosine"
  c.optimizer.schedule.warmup_steps = 10
  run.train(c, tmp_path)
  assert json.loads((tmp_path / "config.json").read_text())["model"]["name"] == "mlp"
  evs = read_metrics(tmp_path / "metrics.jsonl")
  assert {e["split"] for e in evs} == {"train", "eval", "test"}
  for e in evs:
    assert {"step", "split", "loss", "accuracy", "time"} <= set(e)
  assert [e["step"] for e in evs if e["split"] == "test"] == [60]
  assert Checkpointer(tmp_path / "checkpoints").steps() == [30, 60]
  assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
  assert (tmp_path / "plots" / "loss.png").stat().st_size > 1000
  assert (tmp_path / "plots" / "accuracy.png").stat().st_size > 1000


@pytest.mark.parametrize("clip", [0.5, 100.0])
def test_gradient_clipping_bounds_the_update(clip):
  """optimizer.grad_clip_norm=c with plain SGD (lr 1): the update is the gradient scaled to norm
  min(c, ||g||), i.e. ||dtheta|| = c when the (logged, pre-clip) gradient norm exceeds c, and the
  unclipped gradient otherwise."""
  tx, _ = build_optimizer(optimizer_config("sgd", 1.0, grad_clip_norm=clip), 10)
  params = {"w": jnp.array([3.0, -4.0, 12.0])}  # loss 0.5 |w|^2: gradient w, norm 13

  def loss_fn(p, state, batch, rngs):
    return 0.5 * jnp.sum(p["w"] ** 2), {"metrics": {}}

  state = TrainState.create(rng=jax.random.PRNGKey(0), params=params, tx=tx)
  new, packed = jax.jit(make_train_step(loss_fn))(state, None)
  step = np.asarray(new.params["w"] - params["w"])
  assert compute(merge_all([packed]))["grad_norm"] == pytest.approx(13.0, rel=1e-6)
  assert np.linalg.norm(step) == pytest.approx(min(clip, 13.0), rel=1e-5)
  np.testing.assert_allclose(step / np.linalg.norm(step), -np.array([3, -4, 12]) / 13, rtol=1e-5)


def test_mesh_rejects_indivisible_batch():
  with pytest.raises(ConfigError, match="not divisible by the 8 devices"):
    mesh_lib.check_batch_size(100, mesh_lib.make_mesh(8))


def test_checkpoint_falls_back_from_corrupt_latest(tmp_path):
  tree = {"w": jnp.arange(4.0), "step": jnp.asarray(0)}
  ckpt = Checkpointer(tmp_path, max_to_keep=3, async_save=False)
  ckpt.save(1, tree, {"epoch": 1})
  ckpt.save(2, {"w": jnp.arange(4.0) * 2, "step": jnp.asarray(2)}, {"epoch": 2})
  for f in (tmp_path / "2" / "state").rglob("*"):
    if f.is_file():
      f.write_bytes(b"garbage")
  restored = ckpt.restore_latest(tree)
  assert restored.step == 1 and restored.data_state == {"epoch": 1}
  np.testing.assert_array_equal(restored.state["w"], np.arange(4.0))
  assert [s for s, _ in restored.skipped] == [2]
  assert ckpt.steps() == [1] and list((tmp_path.parent / "damaged_checkpoints").iterdir())
