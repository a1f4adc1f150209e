"""Rosenblatt's perceptron (ARC-1, Algorithm 1 of 002 §2.1): error-driven, not gradient descent.

One training step is one epoch of Algorithm 1 over the training set in order
(`dlcore.models.perceptron.perceptron_epoch`, a `lax.scan` over examples); the examples are the
step's jit arguments. The shared loop logs the mistakes of every epoch (split 'train', step =
epoch), checkpoints and resumes, and stops at the first error-free epoch (`Task.stop_when`): on
linearly separable data (sum4) it converges; on XOR it never does (Minsky & Papert), which is
what motivates the MLP. `train.num_steps` caps the epochs.

Evaluator type: 'accuracy' on a split (also reports the training accuracy, whether the weights
separate the training set, and the epochs run).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcore.config import cfg_get
from dlcore.data import load_dataset
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals
from dlcore.metrics import Average, PackedAverages
from dlcore.models import build_model
from dlcore.models.perceptron import labels_to_pm1, perceptron_epoch
from dlcore.train import mesh as mesh_lib
from dlcore.train.state import TrainState
from dlcore.train.task import Task


def _arrays(split) -> tuple[np.ndarray, np.ndarray]:
  x = np.asarray(split["inputs"], np.float32).reshape(len(split["label"]), -1)
  return x, np.asarray(labels_to_pm1(split["label"]))


def scores(params, x) -> np.ndarray:
  p = jax.device_get(params)
  return np.asarray(x) @ np.asarray(p["w"]) + np.asarray(p["b"])


def make_task(config) -> Task:
  dataset = load_dataset(config.data)
  if dataset.info.task != "binary":
    raise ConfigError(f"The perceptron needs a binary dataset; {dataset.info.name!r} is "
                      f"{dataset.info.task}. Use e.g. --config.data.name=sum4 or xor.")
  mesh = mesh_lib.make_mesh(1)  # one sequential pass over the examples: nothing to shard
  model = build_model(config.model, 1)
  x, y = _arrays(dataset.split("train"))
  lr = float(config.perceptron.learning_rate)

  def init(rng):
    params = model.init(rng, jnp.zeros((1, x.shape[1]), jnp.float32))["params"]
    return TrainState.create(rng=rng, params=params, tx=optax.identity())

  def train_step(state, batch, x, y):
    del batch  # the data is the step's argument
    w, b, mistakes = perceptron_epoch(state.params["w"], state.params["b"], x, y,
                                      jnp.float32(lr))
    n = jnp.float32(x.shape[0])
    metrics = {"mistakes": Average(mistakes.astype(jnp.float32), jnp.float32(1)),
               "error_rate": Average(mistakes / n, jnp.float32(1))}
    state = state.replace_part("model", params={"w": w, "b": b}).replace(step=state.step + 1)
    return state, PackedAverages.pack(metrics)

  def accuracy(name, spec):
    xt, yt = _arrays(dataset.split(spec["split"]))

    def run(state, args, workdir=None):
      train_scores = scores(state.params, x)
      predicted = np.where(scores(state.params, xt) >= 0, 1.0, -1.0)  # ACT-2 sign
      return {"accuracy": float(np.mean(predicted == yt)), "num_examples": int(len(yt)),
              "converged": int(np.all(y * train_scores > 0)),
              "epochs": int(jax.device_get(state.step)),
              "train_accuracy": float(np.mean(np.where(train_scores >= 0, 1.0, -1.0) == y))}

    return run

  specs = config.get("evals", None) or {
      "test": {"type": "accuracy", "split": cfg_get(config.eval, "test_split", "test")}}
  return Task(config=config, mesh=mesh, init=init, train_step=train_step, batches=None,
              evaluators=parse_evals(specs, {"accuracy": accuracy}),
              step_args=(jnp.asarray(x), jnp.asarray(y)),
              stop_when=lambda values: values["mistakes"] == 0, plot_metrics=("mistakes",),
              summary={"data": f"{dataset.info.name}: {len(y)} training examples, "
                               f"learning rate {lr}"})
