"""Every config runs end to end and states its command, expected result and time."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlcore.train.metric_logger import read_metrics
from dlcore.train.summary import count_params
from experiments import EXPERIMENTS
from launch import run
from launch.cli import load_config_file

from conftest import REPO

CONFIGS = sorted(p.stem for p in (REPO / "configs").glob("*.py") if p.stem != "__init__")
NEEDS_DATA = {"mnist_mlp", "mnist_cnn", "mnist_activations", "mnist_batchnorm", "mnist_dropout",
              "mnist_triplet", "mnist_lenet5", "mnist_resnet", "mnist_image_system", "mnist_vit",
              "mnist_fast"}


def load(name: str):
  return load_config_file(str(REPO / "configs" / f"{name}.py"))


@pytest.mark.parametrize("name", CONFIGS)
def test_config_states_command_expected_result_and_time(name):
  module_doc = (REPO / "configs" / f"{name}.py").read_text().split('"""')[1]
  for field in ("Command:", "Expected:", "Time:"):
    assert field in module_doc, f"configs/{name}.py docstring lacks {field!r}"
  assert f"configs/{name}.py" in module_doc
  c = load(name)
  assert c.experiment in EXPERIMENTS or c.experiment in run.META


def test_default_experiment_reaches_095_on_digits(tmp_path):
  """Acceptance of `make train`: the default config reaches >= 0.95 test accuracy offline."""
  c = load("digits_mlp")
  c.train.progress = False
  result = run.train(c, tmp_path)
  assert result["test"]["num_examples"] == 360
  assert result["test"]["accuracy"] >= 0.95


def test_mlp_4841_recipe_loss_decreases_every_epoch(tmp_path):
  """ARC-3 through the real trainer: 81 parameters, full-batch GD lr 0.01 for 1000 epochs,
  and the loss (logged every 100 epochs; each an average over 100 full-batch steps) falls."""
  c = load("mlp_4841")
  result = run.train(c, tmp_path)
  assert result["step"] == 1000
  import jax
  from experiments import classification
  state = jax.eval_shape(classification.build(c).init, jax.random.PRNGKey(0))
  assert count_params(state.params) == 81
  losses = [e["loss"] for e in read_metrics(tmp_path / "metrics.jsonl") if e["split"] == "train"]
  assert len(losses) == 10 and all(np.diff(losses) < 0)
  assert losses[-1] < 0.8 * losses[0]


def test_perceptron_configs(tmp_path):
  """perceptron_sum4 converges (separable); perceptron_xor never does."""
  sep = run.train(load("perceptron_sum4"),
                                                                   tmp_path / "sum4")
  assert sep["test"]["converged"] == 1 and sep["test"]["train_accuracy"] == 1.0
  xor = run.train(load("perceptron_xor"),
                                                                  tmp_path / "xor")
  assert xor["test"]["converged"] == 0 and xor["test"]["accuracy"] <= 0.75
  mistakes = [e["mistakes"] for e in read_metrics(tmp_path / "xor" / "metrics.jsonl")
              if e["split"] == "train"]
  assert len(mistakes) == 100 and min(mistakes) > 0


def test_mlp_solves_xor(tmp_path):
  c = load("mlp_xor")
  assert run.train(c, tmp_path)["test"]["accuracy"] == 1.0


@pytest.mark.parametrize("name", sorted(NEEDS_DATA))
def test_mnist_configs_run_a_few_steps(name, data_dir, tmp_path):
  c = load(name)
  c.data.data_dir = str(data_dir)
  c.data.update(num_train=512, num_test=1000)
  c.train.update(dict(num_steps=3, log_every=1, eval_every=3, checkpoint_every=3,
                      progress=False))
  c.eval.batch_size = 1000
  result = run.train(c, tmp_path)
  assert result["status"] == "finished"
  if name == "mnist_activations":
    table = (tmp_path / "comparison.md").read_text()
    for act in ("sigmoid", "tanh", "relu"):
      assert f"| {act} |" in table
      assert json.loads((tmp_path / act / "config.json").read_text())["model"]["activation"] == act
    assert (tmp_path / "plots" / "compare_accuracy.png").stat().st_size > 1000
  elif name == "mnist_batchnorm":
    table = (tmp_path / "comparison.md").read_text()
    for v in ("no_bn_lr_0_05", "bn_lr_0_05", "no_bn_lr_1", "bn_lr_1"):
      assert f"| {v} |" in table
    cfg = json.loads((tmp_path / "bn_lr_1" / "config.json").read_text())
    assert cfg["model"]["batch_norm"] is True and cfg["optimizer"]["learning_rate"] == 1.0
  elif name == "mnist_dropout":
    table = (tmp_path / "comparison.md").read_text()
    assert "train accuracy" in table and "gap accuracy (train-test)" in table
    assert (tmp_path / "plots" / "weight_histograms.png").stat().st_size > 1000
  elif name == "mnist_image_system":
    table = (tmp_path / "comparison.md").read_text()
    for v in ("mlp", "simple_cnn", "lenet5", "resnet"):
      assert f"| {v} |" in table
      assert (tmp_path / v / "inspect" / "confusion_matrix.png").stat().st_size > 1000
    assert "## Inspection" in table and "resnet grad_cam: [grad_cam.png]" in table
    assert "mlp feature_maps: skipped: MLP has no convolution" in table
    assert (tmp_path / "resnet" / "inspect" / "feature_maps" / "00_conv1.png").is_file()
  else:
    assert result["test"]["num_examples"] == 1000  # data.num_test


def test_project_variants_equal_the_standalone_configs():
  """configs/mnist_image_system.py's lenet5 and resnet variants are exactly
  configs/mnist_lenet5.py and configs/mnist_resnet.py, so the project's rows are their results."""
  from launch.comparison import variant_config
  project = load("mnist_image_system")
  for variant, name in (("lenet5", "mnist_lenet5"), ("resnet", "mnist_resnet")):
    got, want = variant_config(project, variant).to_dict(), load(name).to_dict()
    for key in ("seed", "data", "model", "loss", "metrics", "optimizer", "train", "eval",
                "early_stopping", "mesh"):
      assert got[key] == want[key], (variant, key)


def test_regression_losses_exercise(tmp_path):
  """Exercise 11.2.7: with 10% outliers in training, MAE and Huber fit the clean test line
  better than MSE (lower test MSE); the report has train and test columns for each loss."""
  c = load("regression_losses")
  result = run.train(c, tmp_path)
  test = result["test"]
  assert test["huber/mse"] < test["mse/mse"] and test["mae/mse"] < test["mse/mse"]
  table = (tmp_path / "comparison.md").read_text()
  for loss in ("mse", "mae", "huber"):
    assert f"| {loss} |" in table


def test_comparison_records_a_diverged_variant(tmp_path):
  """An lr sweep where one variant diverges: the others still run and the table says so."""
  c = load("regression_losses")
  c.train.num_steps = 50
  c.variants.mse.optimizer = __import__("ml_collections").ConfigDict(dict(learning_rate=1e30))
  result = run.train(c, tmp_path)
  table = (tmp_path / "comparison.md").read_text()
  assert "| mse |" in table and "diverged (NaN/Inf loss)" in table
  assert result["test"]["huber/mse"] is not None and result["test"]["mse/mse"] is None


def test_imbalanced_focal_exercise_reports_per_class_recall(tmp_path):
  """Exercise 11.2.7 (classification): CE vs focal vs their weighted sum, with per-class recall
  and macro F1 computed from the confusion matrix of all 200 test examples."""
  c = load("imbalanced_focal")
  c.train.num_epochs = 5
  run.train(c, tmp_path)
  table = (tmp_path / "comparison.md").read_text()
  assert "test macro F1" in table and "test recall per class" in table
  for v in ("cross_entropy", "focal", "combined"):
    assert f"| {v} |" in table
  from launch.comparison import variant_config
  report = run.evaluate(variant_config(c, "cross_entropy"), tmp_path / "cross_entropy", "test")
  assert report["num_examples"] == 200 and "recall_1" in report and "recall_2" not in report
  # macro F1 equals the mean of the per-class F1 computed from precision and recall
  p = np.array([report["precision_0"], report["precision_1"]])
  r = np.array([report["recall_0"], report["recall_1"]])
  f1 = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)
  assert report["macro_f1"] == pytest.approx(f1.mean(), abs=1e-6)


def test_suite_runs_its_configs_and_concatenates_their_reports(tmp_path):
  """configs/loss_functions.py runs several configs as one command; here with its regression
  part only (the others are covered above and need MNIST)."""
  c = load("loss_functions")
  c.runs = {"regression": "configs/regression_losses.py"}
  result = run.train(c, tmp_path)
  report = (tmp_path / "report.md").read_text()
  assert "## regression (`configs/regression_losses.py`)" in report and "| huber |" in report
  assert result["test"]["regression/huber/mse"] < result["test"]["regression/mse/mse"]
