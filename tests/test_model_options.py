"""Config-selectable regularizers and normalizations reach the model and the loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rich.console import Console

from dlcore.data.preprocess import make_preprocess
from dlcore.evals.split_metrics import predict_split
from dlcore.models import build_model
from dlcore.train.loop import restore_or_init
from dlcore.train.metric_logger import read_metrics
from experiments import classification
from launch import run
from launch.cli import load_config_file

from conftest import REPO


def test_l1_l2_penalties_are_added_to_the_training_loss():
  """LOSS-13/14 from config: loss = data loss + (l1/m) sum|W| + (l2/2m) sum W^2 over kernels
  (biases excluded), m = examples in the batch; the logged 'loss' metric stays the data loss."""
  c = load_config_file(str(REPO / "configs" / "digits_mlp.py"))
  c.mesh.num_devices = 1
  s = classification.build(c)
  batch = {k: jnp.asarray(v[:16]) for k, v in s.data.dataset.split("train").items()}
  batch["mask"] = jnp.ones((16,), jnp.float32)
  params = jax.device_get(jax.jit(s.init)(jax.random.PRNGKey(c.seed)).params)
  base, (_, metrics) = s.objective(params, {}, batch, jax.random.PRNGKey(0), False)
  c.loss.l1_penalty, c.loss.l2_penalty = 1e-2, 3e-2
  penalized = classification.make_loss_fn(c, s.model, make_preprocess(c.data, s.data.info))
  loss, (_, metrics2) = penalized(params, {}, batch, jax.random.PRNGKey(0), False)
  kernels = [np.asarray(v["kernel"], np.float64) for v in params.values()]
  expected = (float(base) + 1e-2 / 16 * sum(np.abs(k).sum() for k in kernels)
              + 3e-2 / (2 * 16) * sum((k**2).sum() for k in kernels))
  assert float(loss) == pytest.approx(expected, rel=1e-5)
  assert float(metrics2["loss"].total) == pytest.approx(float(metrics["loss"].total), rel=1e-6)


def test_mlp_layer_norm_normalizes_each_example():
  model = build_model({"name": "mlp", "features": (32,), "layer_norm": True,
                       "activation": "identity"}, 3)
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 10)) * 5 + 3
  variables = model.init(jax.random.PRNGKey(1), x)
  assert "ln_0" in variables["params"]
  h = model.apply(variables, x)
  assert h.shape == (4, 3)
  # the normalized hidden layer has zero mean and unit variance per example (scale 1, bias 0)
  _, inter = model.apply(variables, x, capture_intermediates=True)
  ln_out = inter["intermediates"]["ln_0"]["__call__"][0]
  np.testing.assert_allclose(np.asarray(ln_out).mean(-1), 0, atol=1e-5)
  np.testing.assert_allclose(np.asarray(ln_out).var(-1), 1, atol=1e-3)


def test_simple_cnn_lrn_and_spatial_dropout():
  model = build_model({"name": "simple_cnn", "lrn": True, "spatial_dropout_rate": 0.5,
                       "batch_norm": True}, 10)
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, 28, 28, 1))
  variables = model.init(jax.random.PRNGKey(1), x)
  assert "bn_0" in variables["params"] and "batch_stats" in variables
  eval_out = model.apply(variables, x, train=False)
  np.testing.assert_array_equal(eval_out, model.apply(variables, x, train=False))
  train_out, _ = model.apply(variables, x, train=True, rngs={"dropout": jax.random.PRNGKey(2)},
                             mutable=["batch_stats"])
  assert not np.allclose(train_out, eval_out)  # dropout and batch statistics act in training
  # whole channels are dropped after the first pooling
  _, inter = model.apply(variables, x, train=True, rngs={"dropout": jax.random.PRNGKey(2)},
                         mutable=["batch_stats", "intermediates"], capture_intermediates=True)
  maps = np.asarray(inter["intermediates"]["spatial_dropout_0"]["__call__"][0])
  per_channel_max = np.abs(maps).reshape(2, -1, maps.shape[-1]).max(axis=1)
  assert (per_channel_max == 0).any() and (per_channel_max > 0).any()


def test_eval_reports_match_sklearn(tmp_path):
  """`eval.reports` (per_class, roc_auc, calibration) over every test example equal sklearn's
  figures computed from the same model's predictions; written to reports.json and logged."""
  import json
  from sklearn.metrics import f1_score, recall_score, roc_auc_score
  c = load_config_file(str(REPO / "configs" / "digits_mlp.py"))
  c.train.update(dict(num_steps=60, log_every=30, eval_every=30, checkpoint_every=60,
                      progress=False))
  result = run.train(c, tmp_path)
  reports = json.loads((tmp_path / "reports.json").read_text())
  s = classification.build(c)
  step, state, _, _ = restore_or_init(classification.make_task(c), tmp_path, Console(),
                                      which="best")
  assert reports["step"] == step  # the reports are those of the best state
  outputs, labels = predict_split(classification.make_predict(s), state,
                                  s.data.dataset.split("test"), 256, s.mesh)
  assert len(labels) == 360
  pred = outputs.argmax(-1)
  assert reports["macro_f1"] == pytest.approx(f1_score(labels, pred, average="macro"), abs=1e-6)
  assert reports["recall_3"] == pytest.approx(recall_score(labels, pred, average=None)[3],
                                              abs=1e-6)
  probs = np.asarray(jax.nn.softmax(outputs, -1))
  assert reports["auc_macro_ovr"] == pytest.approx(
      roc_auc_score(labels, probs, multi_class="ovr", average="macro"), abs=1e-5)
  assert 0 <= reports["ece"] <= 1 and result["test"]["macro_f1"] == reports["macro_f1"]
  logged = [e for e in read_metrics(tmp_path / "metrics.jsonl") if e["split"] == "test"]
  assert len(logged) == 1 and logged[0]["macro_f1"] == reports["macro_f1"]  # and logged
