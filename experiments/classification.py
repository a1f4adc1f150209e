"""Supervised trainer for classification (and regression): MLPs, CNNs, ... on any dataset.

Builds everything from the config (data, model, loss, metrics, optimizer, mesh), then runs the
shared loop of `dlcore.train.loop`. Also registered as 'regression' (loss 'mse', metrics mse/mae).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console

from dlcore.data import Dataset, load_dataset
from dlcore.data.loader import TrainLoader
from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError
from dlcore.losses import build_loss, l1_penalty, l2_penalty, reduce_loss
from dlcore.metrics import METRICS, Average, predicted_class
from dlcore.metrics.reports import compute_reports
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import loop, mesh as mesh_lib
from dlcore.train.checkpoint import Checkpointer
from dlcore.train.early_stopping import EarlyStopping
from dlcore.train.metric_logger import MetricLogger
from dlcore.train.state import TrainState
from dlcore.train.step import (compile_eval_step, compile_train_step, make_eval_step,
                               make_train_step)
from experiments import common


@dataclasses.dataclass
class Setup:
  dataset: Dataset
  mesh: Any
  model: Any
  state: TrainState
  loader: TrainLoader
  settings: loop.LoopSettings
  loss_fn: Callable
  config: Any = None


def num_outputs(dataset: Dataset) -> int:
  return dataset.info.num_classes if dataset.info.task == "multiclass" else 1


def apply_model(model, params, model_state, inputs, rng, train: bool):
  """(outputs, new model state): mutable collections (e.g. batch_stats) update only in training."""
  variables = {"params": params, **model_state}
  mutable = list(model_state) if (train and model_state) else False
  out = model.apply(variables, inputs, train=train, rngs={"dropout": rng}, mutable=mutable)
  return out if mutable else (out, model_state)


def make_loss_fn(config, model, preprocess) -> Callable:
  """loss_fn(params, model_state, batch, rng, train) -> (loss, (model_state, metrics))."""
  per_example_loss = build_loss(config.loss)  # name + hyperparameters (e.g. focal gamma)
  metric_fns = {name: METRICS.get(name) for name in config.metrics}
  reduction = config.loss.get("reduction", "mean")
  l1 = float(config.loss.get("l1_penalty", 0.0) or 0.0)
  l2 = float(config.loss.get("l2_penalty", 0.0) or 0.0)

  def loss_fn(params, model_state, batch, rng, train: bool):
    batch = preprocess(batch)
    outputs, new_model_state = apply_model(model, params, model_state, batch["inputs"], rng,
                                           train)
    per_example = per_example_loss(outputs, batch["label"])
    loss = reduce_loss(per_example, batch["mask"], reduction)
    if l1 or l2:  # LOSS-13/14 penalties on the kernels (lambda/m, m = examples in the batch)
      m = jnp.maximum(batch["mask"].sum(), 1.0)
      loss = loss + l1_penalty(params, l1, m) + l2_penalty(params, l2, m)
    metrics = {"loss": Average.from_values(per_example, batch["mask"])}
    for name, fn in metric_fns.items():
      metrics[name] = Average.from_values(fn(outputs, batch["label"]), batch["mask"])
    return loss, (new_model_state, metrics)

  return loss_fn


def init_state(model, tx, sample_inputs, seed: int, mesh) -> tuple[TrainState, jax.Array]:
  """The initial TrainState (replicated on `mesh`) and the init key, both from `seed`."""
  init_key, train_key = jax.random.split(jax.random.PRNGKey(seed))

  @jax.jit
  def init(key):
    variables = model.init({"params": key, "dropout": key}, sample_inputs, train=False)
    params = variables.pop("params")
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx, rng=train_key,
                             model_state=dict(variables))

  return mesh_lib.replicate(init(init_key), mesh), init_key


def setup(config, console: Console | None = None) -> Setup:
  mesh = mesh_lib.make_mesh(int(config.mesh.get("num_devices", 0)))
  dataset = load_dataset(config.data)
  mesh_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  mesh_lib.check_batch_size(config.eval.batch_size, mesh, "eval.batch_size")
  for split in (config.eval.split, config.eval.test_split):
    dataset.split(split)  # fail now, not after training, when a split is missing
  loader = TrainLoader(dataset.split("train"), config.train.batch_size,
                       seed=int(config.data.get("shuffle_seed", config.seed)))
  settings = loop.LoopSettings.from_config(config, loader.steps_per_epoch)

  model = build_model(config.model, num_outputs(dataset))
  preprocess = make_preprocess(config.data, dataset.info)
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  sample = preprocess({k: jnp.asarray(v[:2]) for k, v in dataset.split("train").items()}
                      | {"mask": jnp.ones((2,), jnp.float32)})
  state, init_key = init_state(model, tx, sample["inputs"], int(config.seed), mesh)
  loss_fn = make_loss_fn(config, model, preprocess)
  try:  # shapes only: a loss that does not fit the task fails here with one clear line
    jax.eval_shape(lambda st: loss_fn(st.params, st.model_state, sample, init_key, False), state)
  except (TypeError, ValueError) as e:
    first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
    raise ConfigError(
        f"loss {config.loss.name!r} or metrics {tuple(config.metrics)} do not fit the model "
        f"outputs ({num_outputs(dataset)} per example) and labels of the {dataset.info.task} "
        f"dataset {dataset.info.name!r} ({first}); choose a loss for that task.") from None
  return Setup(dataset, mesh, model, state, loader, settings, loss_fn, config)


def train_and_evaluate(config, workdir: str | pathlib.Path) -> dict:
  console = loop.make_console()
  workdir = common.prepare_workdir(config, workdir)
  s = setup(config, console)
  common.print_banner(console, config, s.mesh, s.state.params, s.state.model_state)
  info = s.dataset.info
  console.print(f"data: {info.name} " + ", ".join(
      f"{k}={s.dataset.num_examples(k)}" for k in s.dataset.splits) +
                f"; {s.loader.steps_per_epoch} steps/epoch, {s.settings.num_steps} steps")
  es = config.get("early_stopping", None)
  early = EarlyStopping(metric=es.get("metric", "loss"), mode=es.get("mode", "min"),
                        patience=int(es.get("patience", 0)),
                        min_delta=float(es.get("min_delta", 0.0))) if es else None
  result = loop.run(
      workdir=workdir, settings=s.settings, state=s.state,
      train_step=compile_train_step(make_train_step(s.loss_fn), s.mesh),
      eval_step=compile_eval_step(make_eval_step(s.loss_fn), s.mesh),
      train_loader=s.loader, eval_sets=s.dataset.splits, mesh=s.mesh, early_stopping=early,
      console=console, plot_metrics=("loss",) + tuple(config.metrics))
  reports = tuple(config.eval.get("reports", ()) or ())
  if reports and result["status"] == "finished":
    # the state of the final test evaluation: the best one when early stopping restores it
    best = s.settings.restore_best and (workdir / "best_checkpoint").is_dir()
    _, step, state = _restore_latest(config, workdir, "best_checkpoint" if best else "checkpoints")
    values = compute_reports(reports, *predict_split(s, state, config.eval.test_split,
                                                     config.eval.batch_size))
    (workdir / "reports.json").write_text(json.dumps({"step": step, **values}, indent=2))
    MetricLogger(workdir, console, tensorboard=False).update_last("test", values)
    result["test"].update(values)
  return result


def _restore_latest(config, workdir: str | pathlib.Path,
                    subdir: str = "checkpoints") -> tuple[Setup, int, TrainState]:
  s = setup(config)
  ckpt = Checkpointer(pathlib.Path(workdir) / subdir)
  restored = ckpt.restore_latest(s.state)
  ckpt.close()
  if restored is None:
    raise ConfigError(f"No checkpoint in {pathlib.Path(workdir) / 'checkpoints'}; train first.")
  return s, restored[0], restored[1]


def evaluate(config, workdir: str | pathlib.Path, split: str = "test") -> dict:
  """Restore the latest checkpoint of `workdir` and evaluate every example of `split`."""
  s, step, state = _restore_latest(config, workdir)
  metrics = loop.evaluate(compile_eval_step(make_eval_step(s.loss_fn), s.mesh), state,
                          s.dataset.split(split), config.eval.batch_size, s.mesh)
  return {"step": step, "split": split, **metrics}


def final_params(config, workdir: str | pathlib.Path):
  """The parameters of the latest checkpoint of `workdir` (host arrays; the EMA θ̄ when
  `optimizer.ema_decay > 0`)."""
  return jax.device_get(_restore_latest(config, workdir)[2].eval_params())


def predict_split(s: Setup, state: TrainState, split: str, batch_size: int):
  """Model outputs and labels of every example of `split` (host arrays, padding removed)."""
  from dlcore.data.loader import eval_batches
  preprocess = make_preprocess(s.config.data, s.dataset.info)

  @jax.jit
  def predict(state, batch):
    batch = preprocess(batch)
    return s.model.apply(state.eval_variables(), batch["inputs"], train=False)

  outputs, labels = [], []
  for b in eval_batches(s.dataset.split(split), batch_size):
    keep = np.asarray(b["mask"]) > 0
    outputs.append(np.asarray(predict(state, mesh_lib.put_batch(b, s.mesh)))[keep])
    labels.append(np.asarray(b["label"])[keep])
  return np.concatenate(outputs), np.concatenate(labels)


def class_report(config, workdir: str | pathlib.Path, split: str = "test") -> dict:
  """Per-class recall and precision, macro F1 and accuracy of the latest checkpoint on every
  example of `split` (MET-1..5), from the confusion matrix of its predictions."""
  s, step, state = _restore_latest(config, workdir)
  outputs, labels = predict_split(s, state, split, config.eval.batch_size)
  report = compute_reports(["per_class"], outputs, labels)
  k = len([key for key in report if key.startswith("recall_")])
  pred = np.asarray(predicted_class(outputs))
  return {"step": step, "split": split, "accuracy": float(np.mean(pred == labels)),
          "macro_f1": report["macro_f1"],
          "recall_per_class": [report[f"recall_{c}"] for c in range(k)],
          "precision_per_class": [report[f"precision_{c}"] for c in range(k)],
          "num_examples": int(len(labels))}
