"""Supervised trainer for classification (and regression): MLPs, CNNs, ... on any dataset.

Builds everything from the config (data, model, loss, metrics, optimizer, mesh), then runs the
shared loop of `dlcore.train.loop`. Also registered as 'regression' (loss 'mse', metrics mse/mae).

Knowledge distillation (LOSS-26, Hinton et al. 2015; canonical, not from seed): a non-empty
`config.distillation.teacher_workdir` restores the teacher trained with
`config.distillation.teacher_config` and trains the student on
alpha T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) CE(s, y) (see `load_teacher`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import runpy
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console

from dlcore.data import Dataset, load_dataset
from dlcore.data.loader import TrainLoader
from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError
from dlcore.losses import build_loss, distillation_loss, l1_penalty, l2_penalty, reduce_loss
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
from experiments import common, inspection

REPO = pathlib.Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Teacher:
  """LOSS-26: a trained classifier whose eval-mode logits the student learns to match."""
  model: Any
  variables: Any  # {'params': eval params (the EMA if kept), **model_state}, on the student mesh
  preprocess: Callable  # the teacher config's own make_preprocess (it may not flatten, say)
  temperature: float
  alpha: float
  step: int  # step of the restored teacher checkpoint

  def logits(self, variables, raw_batch: dict, rng, train: bool) -> jax.Array:
    """t = teacher(preprocess_teacher(raw batch)) in eval mode, without gradient. Its data.augment
    runs with the student's key, so both see the same images when their augment configs agree."""
    inputs = self.preprocess(raw_batch, rng, train)["inputs"]
    return jax.lax.stop_gradient(self.model.apply(variables, inputs, train=False))


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
  teacher: Teacher | None = None


def num_outputs(dataset: Dataset) -> int:
  return dataset.info.num_classes if dataset.info.task == "multiclass" else 1


AUX_OUTPUTS = "aux_outputs"  # collection where models sow auxiliary-head logits (LAY-20)


def apply_model(model, params, model_state, inputs, rng, train: bool):
  """(outputs, new model state, aux outputs).

  Mutable collections (e.g. batch_stats) update only in training. In training, logits that the
  model sows into the `aux_outputs` collection (GoogLeNet's auxiliary classifiers) come back as
  a flat tuple; in eval (and for models without auxiliary heads) the tuple is empty.
  """
  variables = {"params": params, **model_state}
  if not train:
    return model.apply(variables, inputs, train=False, rngs={"dropout": rng}), model_state, ()
  out, updates = model.apply(variables, inputs, train=True, rngs={"dropout": rng},
                             mutable=[*model_state, AUX_OUTPUTS])
  updates = dict(updates)
  aux = tuple(jax.tree.leaves(updates.pop(AUX_OUTPUTS, {})))
  return out, {**model_state, **updates}, aux


def make_loss_fn(config, model, preprocess, teacher: Teacher | None = None) -> Callable:
  """loss_fn(params, model_state, batch, rng, train, teacher_variables=None)
  -> (loss, (model_state, metrics)).

  With a `teacher` (LOSS-26) the per-example loss, in training and in eval (so the reported
  'loss' is this objective; the other metrics are the student's), is
  distillation_loss(s, stop_gradient(t), y, temperature=T, alpha=alpha)
    = alpha T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) CE(s, y),
  t = `teacher.logits` of the same raw batch. `teacher_variables` defaults to `teacher.variables`
  (closed over, so jit would embed them as constants); `compile_steps` passes them as an argument.
  """
  per_example_loss = build_loss(config.loss)  # name + hyperparameters (e.g. focal gamma)
  metric_fns = {name: METRICS.get(name) for name in config.metrics}
  reduction = config.loss.get("reduction", "mean")
  l1 = float(config.loss.get("l1_penalty", 0.0) or 0.0)
  l2 = float(config.loss.get("l2_penalty", 0.0) or 0.0)
  aux_weight = float(config.loss.get("aux_weight", 0.3))

  def loss_fn(params, model_state, batch, rng, train: bool, teacher_variables=None):
    raw = batch
    batch = preprocess(batch, rng, train)  # data.augment runs here, on device, in training
    outputs, new_model_state, aux = apply_model(model, params, model_state, batch["inputs"], rng,
                                                train)
    if teacher is None:
      per_example = per_example_loss(outputs, batch["label"])
    else:
      t = teacher.logits(teacher.variables if teacher_variables is None else teacher_variables,
                         raw, rng, train)
      per_example = distillation_loss(outputs, t, batch["label"], temperature=teacher.temperature,
                                      alpha=teacher.alpha)
    loss = reduce_loss(per_example, batch["mask"], reduction)
    for aux_outputs in aux:  # LAY-20: L = L_main + w * sum_heads L_aux (GoogLeNet: w = 0.3)
      loss = loss + aux_weight * reduce_loss(per_example_loss(aux_outputs, batch["label"]),
                                             batch["mask"], reduction)
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
    variables = dict(model.init({"params": key, "dropout": key}, sample_inputs, train=False))
    variables.pop(AUX_OUTPUTS, None)  # sown at init; recomputed by every training apply
    params = variables.pop("params")
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx, rng=train_key,
                             model_state=dict(variables))

  return mesh_lib.replicate(init(init_key), mesh), init_key


def setup(config, console: Console | None = None) -> Setup:
  mesh = mesh_lib.make_mesh(int(config.mesh.get("num_devices", 0)))
  dataset = load_dataset(config.data)
  mesh_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  mesh_lib.check_batch_size(config.eval.batch_size, mesh, "eval.batch_size")
  teacher = load_teacher(config, mesh)  # before any training: a missing teacher fails here
  for split in (config.eval.split, config.eval.test_split):
    dataset.split(split)  # fail now, not after training, when a split is missing
  inspection.check_names(config.eval.get("inspect", ()))  # likewise an unknown inspection
  loader = TrainLoader(dataset.split("train"), config.train.batch_size,
                       seed=int(config.data.get("shuffle_seed", config.seed)))
  settings = loop.LoopSettings.from_config(config, loader.steps_per_epoch)

  model = build_model(config.model, num_outputs(dataset))
  preprocess = make_preprocess(config.data, dataset.info)
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  raw = ({k: jnp.asarray(v[:2]) for k, v in dataset.split("train").items()}
         | {"mask": jnp.ones((2,), jnp.float32)})
  state, init_key = init_state(model, tx, preprocess(raw)["inputs"], int(config.seed), mesh)
  loss_fn = make_loss_fn(config, model, preprocess, teacher)
  try:  # shapes only: a loss that does not fit the task fails here with one clear line
    jax.eval_shape(lambda st: loss_fn(st.params, st.model_state, raw, init_key, False), state)
  except (TypeError, ValueError) as e:
    first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
    raise ConfigError(
        f"loss {config.loss.name!r} or metrics {tuple(config.metrics)} do not fit the model "
        f"outputs ({num_outputs(dataset)} per example) and labels of the {dataset.info.task} "
        f"dataset {dataset.info.name!r} ({first}); choose a loss for that task.") from None
  return Setup(dataset, mesh, model, state, loader, settings, loss_fn, config, teacher)


def _config_file(spec: str):
  """get_config() of a config file, its path relative to the working directory or the repo."""
  file = pathlib.Path(spec)
  file = file if file.is_absolute() or file.is_file() else REPO / file
  if not file.is_file():
    raise ConfigError(f"distillation.teacher_config {spec} not found; give the teacher's config "
                      f"file (e.g. configs/digits_mlp.py).")
  return runpy.run_path(str(file))["get_config"]()


def load_teacher(config, mesh) -> Teacher | None:
  """LOSS-26: the teacher of `config.distillation`, or None when its teacher_workdir is empty.

  Keys: teacher_config (the teacher's config file), teacher_workdir (its trained workdir),
  temperature T (4.0), alpha (0.5). The teacher model is built from its config; its eval params
  (`TrainState.eval_params`) and model state come from the latest checkpoint of teacher_workdir,
  replicated on `mesh`. Its data must be the student's (same data.name), the student's loss
  'cross_entropy' (the hard term). Every problem is a ConfigError raised before training.
  """
  d = config.get("distillation", None)
  workdir = str(d.get("teacher_workdir", "") or "") if d else ""
  if not workdir:
    return None
  spec = str(d.get("teacher_config", "") or "")
  temperature, alpha = float(d.get("temperature", 4.0)), float(d.get("alpha", 0.5))
  if not temperature > 0 or not 0.0 <= alpha <= 1.0:
    raise ConfigError(f"distillation needs temperature > 0 and 0 <= alpha <= 1, got "
                      f"temperature={temperature}, alpha={alpha}.")
  if config.loss.get("name", "") != "cross_entropy":
    raise ConfigError(f"distillation replaces loss {config.loss.get('name')!r} by "
                      f"alpha T^2 KL + (1 - alpha) cross-entropy; set loss.name='cross_entropy'.")
  teacher_config = _config_file(spec)
  if teacher_config.data.name != config.data.name:
    raise ConfigError(f"the teacher ({spec}) is trained on data.name="
                      f"{teacher_config.data.name!r} but the student on {config.data.name!r}; "
                      f"teacher and student must share the dataset.")
  ckpts = pathlib.Path(workdir) / "checkpoints"
  if not (ckpts.is_dir() and any(p.name.isdigit() for p in ckpts.iterdir())):
    raise ConfigError(f"distillation.teacher_workdir {workdir} has no checkpoint; train the "
                      f"teacher first: .venv/bin/python -m launch.train --config {spec} "
                      f"--workdir {workdir}")
  ts, step, state = _restore_latest(teacher_config, workdir)
  return Teacher(ts.model, mesh_lib.replicate(state.eval_variables(), mesh),
                 make_preprocess(teacher_config.data, ts.dataset.info), temperature, alpha, step)


@dataclasses.dataclass(frozen=True)
class _TeacherBound:
  """step(state, batch) = jitted(state, batch, teacher_variables): the variables are an argument
  of the compiled program, not literals embedded in it."""
  jitted: Callable
  teacher_variables: Any

  def __call__(self, state, batch):
    return self.jitted(state, batch, self.teacher_variables)

  def lower(self, state, batch):
    return self.jitted.lower(state, batch, self.teacher_variables)


def compile_steps(s: Setup) -> tuple[Callable, Callable]:
  """(train_step, eval_step) of `s`, jitted over its mesh (state replicated, batch sharded, the
  train state donated). With a teacher its variables are a replicated jit argument."""
  if s.teacher is None:
    return (compile_train_step(make_train_step(s.loss_fn), s.mesh),
            compile_eval_step(make_eval_step(s.loss_fn), s.mesh))
  rep, data = mesh_lib.replicated(s.mesh), mesh_lib.batch_sharding(s.mesh)

  def bind(make_step, donate):
    def step(state, batch, teacher_variables):
      loss_fn = functools.partial(s.loss_fn, teacher_variables=teacher_variables)
      return make_step(loss_fn)(state, batch)

    return _TeacherBound(jax.jit(step, in_shardings=(rep, data, rep), out_shardings=rep,
                                 donate_argnums=donate), s.teacher.variables)

  return bind(make_train_step, (0,)), bind(make_eval_step, ())


def train_and_evaluate(config, workdir: str | pathlib.Path) -> dict:
  console = loop.make_console()
  workdir = common.prepare_workdir(config, workdir)
  s = setup(config, console)
  common.print_banner(console, config, s.mesh, s.state.params, s.state.model_state)
  info = s.dataset.info
  console.print(f"data: {info.name} " + ", ".join(
      f"{k}={s.dataset.num_examples(k)}" for k in s.dataset.splits) +
                f"; {s.loader.steps_per_epoch} steps/epoch, {s.settings.num_steps} steps")
  if s.teacher is not None:
    d = config.distillation
    console.print(f"distillation: teacher {d.teacher_config} (step {s.teacher.step} of "
                  f"{d.teacher_workdir}), T={s.teacher.temperature}, alpha={s.teacher.alpha}")
  train_step, eval_step = compile_steps(s)
  es = config.get("early_stopping", None)
  early = EarlyStopping(metric=es.get("metric", "loss"), mode=es.get("mode", "min"),
                        patience=int(es.get("patience", 0)),
                        min_delta=float(es.get("min_delta", 0.0))) if es else None
  result = loop.run(
      workdir=workdir, settings=s.settings, state=s.state, train_step=train_step,
      eval_step=eval_step, train_loader=s.loader, eval_sets=s.dataset.splits, mesh=s.mesh,
      early_stopping=early, console=console, plot_metrics=("loss",) + tuple(config.metrics))
  reports = tuple(config.eval.get("reports", ()) or ())
  inspect = inspection.check_names(config.eval.get("inspect", ()))
  if (reports or inspect) and result["status"] == "finished":
    # the state of the final test evaluation: the best one when early stopping restores it
    best = s.settings.restore_best and (workdir / "best_checkpoint").is_dir()
    _, step, state = _restore_latest(config, workdir, "best_checkpoint" if best else "checkpoints")
    split = config.eval.test_split
    outputs, labels = predict_split(s, state, split, config.eval.batch_size)
    if reports:
      values = compute_reports(reports, outputs, labels)
      (workdir / "reports.json").write_text(json.dumps({"step": step, **values}, indent=2))
      MetricLogger(workdir, console, tensorboard=False).update_last("test", values)
      result["test"].update(values)
    if inspect:
      result["inspect"] = inspection.write_inspections(
          inspect, s.model, state.eval_variables(), config.data, info,
          s.dataset.split(split)["inputs"], labels, outputs, workdir / "inspect",
          int(config.eval.get("inspect_images", 8)))
      console.print(f"inspection ({', '.join(inspect)}): {workdir / 'inspect'}")
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
  metrics = loop.evaluate(compile_steps(s)[1], state, s.dataset.split(split),
                          config.eval.batch_size, s.mesh)
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
