"""Rosenblatt's perceptron (ARC-1, Algorithm 1 of 002 §2.1): error-driven, not gradient descent.

Runs `perceptron_fit` (one jitted `lax.while_loop`) on a binary dataset, logs the mistakes of
every epoch (split 'train', step = epoch) and the test accuracy (split 'test'), saves the final
weights with Orbax, and plots the mistakes per epoch. On linearly separable data (sum4) it
converges; on XOR it never does (Minsky & Papert), which is what motivates the MLP.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console

from dlcore.data import load_dataset
from dlcore.errors import ConfigError
from dlcore.models import build_model
from dlcore.models.perceptron import labels_to_pm1, perceptron_fit
from dlcore.train import mesh as mesh_lib
from dlcore.train.checkpoint import Checkpointer
from dlcore.train.metric_logger import MetricLogger, read_metrics
from dlcore.viz.curves import plot_curves
from dlcore.train.loop import make_console
from experiments import common


def _data(config):
  dataset = load_dataset(config.data)
  if dataset.info.task != "binary":
    raise ConfigError(f"The perceptron needs a binary dataset; {dataset.info.name!r} is "
                      f"{dataset.info.task}. Use e.g. --config.data.name=sum4 or xor.")
  return dataset


def _arrays(split):
  return (jnp.asarray(split["inputs"], jnp.float32).reshape(len(split["label"]), -1),
          labels_to_pm1(split["label"]))


def accuracy(params, x, y) -> float:
  score = x @ params["params"]["w"] + params["params"]["b"]
  return float(jnp.mean(jnp.where(score >= 0, 1.0, -1.0) == y))


def train_and_evaluate(config, workdir) -> dict:
  console = make_console()
  workdir = common.prepare_workdir(config, workdir)
  dataset = _data(config)
  common.print_banner(console, config, mesh_lib.make_mesh(1))
  model = build_model(config.model, 1)
  x, y = _arrays(dataset.split("train"))
  params = model.init(jax.random.PRNGKey(config.seed), x[:1])
  params, history = perceptron_fit(params, x, y, float(config.perceptron.learning_rate),
                                   int(config.perceptron.max_epochs))
  epochs, converged = int(history.epochs), bool(history.converged)

  logger = MetricLogger(workdir, console)
  logger.truncate_after(-1)  # the run is one shot: start the log afresh
  for epoch in range(epochs):
    mistakes = int(history.mistakes[epoch])
    logger.write(epoch + 1, "train", {"mistakes": mistakes,
                                      "error_rate": mistakes / len(y)}, echo=False)
  train_acc = accuracy(params, x, y)
  xt, yt = _arrays(dataset.split(config.eval.test_split))
  test = {"accuracy": accuracy(params, xt, yt), "num_examples": int(len(yt)),
          "converged": int(converged), "epochs": epochs, "train_accuracy": train_acc}
  logger.write(epochs, "test", test)
  logger.close()
  plot_curves(read_metrics(logger.path), workdir / "plots", ("mistakes",), config.get("name", ""))

  ckpt = Checkpointer(workdir / "checkpoints", async_save=False)
  ckpt.save(epochs, params, {}, {"converged": converged})
  ckpt.close()
  verdict = "converged" if converged else "did NOT converge"
  console.print(f"perceptron {verdict} after {epochs} epoch(s); train accuracy {train_acc:.3f}, "
                f"test accuracy {test['accuracy']:.3f}")
  return {"status": "finished", "step": epochs, "test": test}


def evaluate(config, workdir, split: str = "test") -> dict:
  dataset = _data(config)
  model = build_model(config.model, 1)
  x, y = _arrays(dataset.split(split))
  target = model.init(jax.random.PRNGKey(0), x[:1])
  ckpt = Checkpointer(pathlib.Path(workdir) / "checkpoints", async_save=False)
  restored = ckpt.restore_latest(target)
  ckpt.close()
  if restored is None:
    raise ConfigError(f"No checkpoint in {workdir}/checkpoints; train first.")
  step, params, _, _ = restored
  return {"step": step, "split": split, "accuracy": accuracy(params, x, y),
          "num_examples": int(len(y))}
