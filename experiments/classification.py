"""Supervised classification (and regression): MLPs, CNNs, ... on any dataset.

`make_task(config)` builds the data, model, loss, metrics and optimizer of a config and returns
the `Task` the shared loop runs. Also registered as 'regression' (loss 'mse', metrics mse/mae).

Evaluator types for `config.evals` (default: `supervised.standard_evals`):
  metrics  the loss and `config.metrics` over every example of `split`;
  reports  whole-split reports by name (`names`: per_class, roc_auc, calibration, regression),
           also written to <workdir>/reports.json;
  inspect  pictures by name (`names`: confusion_matrix, error_gallery, feature_maps, grad_cam;
           `images`) into <workdir>/inspect/.

Knowledge distillation (LOSS-26, Hinton et al. 2015; canonical, not from seed): a non-empty
`config.distillation.teacher_workdir` restores the teacher trained with
`config.distillation.teacher_config`; the student trains on
alpha T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) CE(s, y). The teacher's variables are the
step's extra jit argument (`Task.step_args`), never constants of the compiled program.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from dlcore.config import cfg_get, load_config_file
from dlcore.data import Dataset
from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError, first_line
from dlcore.evals import Evaluator, parse_evals, split_metrics
from dlcore.evals.inspection import check_names, write_inspections
from dlcore.evals.split_metrics import predict_split
from dlcore.losses import build_loss, distillation_loss, l1_penalty, l2_penalty, reduce_loss
from dlcore.metrics import METRICS, Average, PackedAverages
from dlcore.metrics.reports import compute_reports
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import mesh as mesh_lib, supervised
from dlcore.train.loop import LoopSettings
from dlcore.train.step import compile_eval_step, make_train_step
from dlcore.train.task import Task
from dlcore.train.warm_start import graft, read_checkpoint, saved_part


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


def num_outputs(dataset: Dataset) -> int:
  return dataset.info.num_classes if dataset.info.task == "multiclass" else 1


def make_loss_fn(config, model, preprocess, teacher: Teacher | None = None) -> Callable:
  """objective(params, model_state, batch, rng, train, teacher_variables=None)
  -> (loss, (model_state, metrics)); `rng` is the step's `dropout` key (dropout and
  data.augment draw from it).

  With a `teacher` (LOSS-26) the per-example loss, in training and in eval (so the reported
  'loss' is this objective; the other metrics are the student's), is
  distillation_loss(s, stop_gradient(t), y, temperature=T, alpha=alpha)
    = alpha T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) CE(s, y),
  t = `teacher.logits` of the same raw batch with `teacher_variables` (default
  `teacher.variables`; the task passes them as the step's argument).
  """
  per_example_loss = build_loss(config.loss)  # name + hyperparameters (e.g. focal gamma)
  metric_fns = {name: METRICS.get(name) for name in config.metrics}
  reduction = cfg_get(config.loss, "reduction", "mean")
  l1 = float(cfg_get(config.loss, "l1_penalty", 0.0))
  l2 = float(cfg_get(config.loss, "l2_penalty", 0.0))
  aux_weight = float(cfg_get(config.loss, "aux_weight", 0.3))

  def objective(params, model_state, batch, rng, train: bool, teacher_variables=None):
    raw = batch
    batch = preprocess(batch, rng, train)  # data.augment runs here, on device, in training
    outputs, new_model_state, aux = supervised.apply_model(model, params, model_state,
                                                           batch["inputs"], rng, train)
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

  return objective


def train_loss(objective: Callable) -> Callable:
  """The step's loss function (dlcore.train.step) of a classification objective."""

  def loss_fn(params, state, batch, rngs, *args):
    loss, (model_state, metrics) = objective(params, state.model_state, batch, rngs["dropout"],
                                             True, *args)
    return loss, {"metrics": metrics, "model_state": model_state}

  return loss_fn


def eval_fn(objective: Callable) -> Callable:
  """eval_step(state, batch, *args): the objective in eval mode with `state.eval_params()` (the
  parameter EMA when the optimizer keeps one); metric sums."""

  def eval_step(state, batch, *args):
    _, (_, metrics) = objective(state.eval_params(), state.model_state, batch, state.rng, False,
                                *args)
    return PackedAverages.pack(metrics)

  return eval_step


def load_teacher(config, mesh: Mesh) -> Teacher | None:
  """LOSS-26: the teacher of `config.distillation`, or None when its teacher_workdir is empty.

  Keys: teacher_config (the teacher's config file), teacher_workdir (its trained workdir),
  temperature T (4.0), alpha (0.5). The teacher model is built from its config; its eval params
  (the EMA when kept) and model state come from the latest checkpoint of teacher_workdir
  (`dlcore.train.warm_start.read_checkpoint`), replicated on `mesh`. Its data must be the
  student's (same data.name), the student's loss 'cross_entropy' (the hard term). Every problem
  is a ConfigError raised before training.
  """
  d = config.get("distillation", None)
  workdir = str(cfg_get(d, "teacher_workdir", "")) if d else ""
  if not workdir:
    return None
  spec = str(cfg_get(d, "teacher_config", ""))
  temperature, alpha = float(cfg_get(d, "temperature", 4.0)), float(cfg_get(d, "alpha", 0.5))
  if not temperature > 0 or not 0.0 <= alpha <= 1.0:
    raise ConfigError(f"distillation needs temperature > 0 and 0 <= alpha <= 1, got "
                      f"temperature={temperature}, alpha={alpha}.")
  if cfg_get(config.loss, "name", "") != "cross_entropy":
    raise ConfigError(f"distillation replaces loss {config.loss.get('name')!r} by "
                      f"alpha T^2 KL + (1 - alpha) cross-entropy; set loss.name='cross_entropy'.")
  try:
    teacher_config = load_config_file(spec)
  except ConfigError as e:
    raise ConfigError(f"distillation.teacher_config: {e}") from None
  if teacher_config.data.name != config.data.name:
    raise ConfigError(f"the teacher ({spec}) is trained on data.name="
                      f"{teacher_config.data.name!r} but the student on {config.data.name!r}; "
                      f"teacher and student must share the dataset.")
  ckpts = pathlib.Path(workdir) / "checkpoints"
  if not (ckpts.is_dir() and any(p.name.isdigit() for p in ckpts.iterdir())):
    raise ConfigError(f"distillation.teacher_workdir {workdir} has no checkpoint; train the "
                      f"teacher first: .venv/bin/python -m launch.train --config {spec} "
                      f"--workdir {workdir}")
  t = build(teacher_config)
  step, saved = read_checkpoint(workdir, "latest")
  part = saved_part(saved, "model", workdir)
  template = jax.eval_shape(t.init, jax.random.PRNGKey(0)).part()
  ema = _find(part.get("opt_state"), "ema_params")
  variables = graft(template.variables(),
                    {"params": part["params"] if ema is None else ema,
                     **part.get("model_state", {})},
                    f"the teacher from {workdir}")
  return Teacher(t.model, mesh_lib.replicate(variables, mesh), t.data.preprocess, temperature,
                 alpha, step)


def _find(tree: Any, key: str) -> Any:
  """The first value stored under `key` in nested dicts/lists (an optax state), or None."""
  if isinstance(tree, dict):
    if key in tree:
      return tree[key]
    children = tree.values()
  elif isinstance(tree, (list, tuple)):
    children = tree
  else:
    return None
  for child in children:
    found = _find(child, key)
    if found is not None:
      return found
  return None


@dataclasses.dataclass
class Classifier:
  """What `make_task` builds: data, model, optimizer, objective, initialiser, teacher."""
  config: Any
  data: supervised.SupervisedData
  model: Any
  tx: Any
  objective: Callable
  init: Callable
  settings: LoopSettings
  teacher: Teacher | None = None

  @property
  def mesh(self) -> Mesh:
    return self.data.mesh


def build(config) -> Classifier:
  data = supervised.load_data(config)
  teacher = load_teacher(config, data.mesh)  # before any training: a missing teacher fails here
  settings = LoopSettings.from_config(config, data.loader.steps_per_epoch)
  model = build_model(supervised.model_config(config, data.info), num_outputs(data.dataset))
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  init = supervised.model_init(model, tx, data.preprocess(data.sample)["inputs"])
  objective = make_loss_fn(config, model, data.preprocess, teacher)
  c = Classifier(config, data, model, tx, objective, init, settings, teacher)
  _check_loss_fits(c)
  return c


def _check_loss_fits(c: Classifier) -> None:
  """Shapes only: a loss that does not fit the task fails here with one clear line."""
  info = c.data.info
  try:
    state = jax.eval_shape(c.init, jax.random.PRNGKey(0))
    jax.eval_shape(lambda st: c.objective(st.params, st.model_state, c.data.sample,
                                          jax.random.PRNGKey(0), False), state)
  except (TypeError, ValueError, AssertionError) as e:  # chex shape assertions: AssertionError
    first = first_line(e) or type(e).__name__
    raise ConfigError(
        f"loss {c.config.loss.name!r} or metrics {tuple(c.config.metrics)} do not fit the model "
        f"outputs ({num_outputs(c.data.dataset)} per example) and labels of the {info.task} "
        f"dataset {info.name!r} ({first}); choose a loss for that task.") from None


def make_predict(c: Classifier) -> Callable:
  """predict(state, batch, *args): eval-mode model outputs of a raw batch (jitted)."""
  preprocess = make_preprocess(c.config.data, c.data.info)

  @jax.jit
  def predict(state, batch, *args):
    return c.model.apply(state.eval_variables(), preprocess(batch)["inputs"], train=False)

  return predict


def evaluators(c: Classifier, eval_step: Callable) -> list[Evaluator]:
  """The evaluators of `config.evals` (types metrics, reports, inspect)."""
  batch_size = int(c.config.eval.batch_size)
  predict, cache = make_predict(c), {}

  def predictions(state, split, args):  # one prediction pass for reports and pictures
    # keyed by the state object itself, held here: an id() key can be reused by a later state
    # once the earlier one is freed (periodic reports would then get stale predictions)
    if cache.get("state") is not state or cache.get("split") != split:
      cache.clear()
      cache.update(state=state, split=split, out=predict_split(
          predict, state, c.data.dataset.split(split), batch_size, c.mesh, args))
    return cache["out"]

  def metrics(name, spec):
    return split_metrics(eval_step, c.data.dataset.split(spec["split"]), batch_size, c.mesh)

  def reports(name, spec):
    names = tuple(spec.get("names", ()))

    def run(state, args, workdir=None):
      values = compute_reports(names, *predictions(state, spec["split"], args))
      if workdir is not None:
        step = int(jax.device_get(state.step))
        (pathlib.Path(workdir) / "reports.json").write_text(
            json.dumps({"step": step, **values}, indent=2))
      return values

    return run

  def inspect(name, spec):
    names = check_names(spec.get("names", ()))

    def run(state, args, workdir):
      outputs, labels = predictions(state, spec["split"], args)
      return write_inspections(  # {picture name: [paths] or a note}: result['inspect']
          names, c.model, state.eval_variables(), c.config.data, c.data.info,
          c.data.dataset.split(spec["split"])["inputs"], labels, outputs,
          pathlib.Path(workdir) / "inspect", int(spec.get("images", 8)))

    return run

  specs = supervised.standard_evals(c.config, c.data.loader.steps_per_epoch)
  out = parse_evals(specs, {"metrics": metrics, "reports": reports, "inspect": inspect},
                    options={"reports": ("names",), "inspect": ("names", "images")},
                    writes_files=("inspect",))
  for e in out:  # fail now, not after training, when a split is missing
    if e.split:
      c.data.dataset.split(e.split)
  return out


def make_task(config) -> Task:
  c = build(config)
  args = () if c.teacher is None else (c.teacher.variables,)
  eval_step = compile_eval_step(eval_fn(c.objective), c.mesh, num_args=len(args))
  summary = {"data": c.data.describe() + f", {c.settings.num_steps} steps"}
  if c.teacher is not None:
    d = config.distillation
    summary["distillation"] = (f"teacher {d.teacher_config} (step {c.teacher.step} of "
                               f"{d.teacher_workdir}), T={c.teacher.temperature}, "
                               f"alpha={c.teacher.alpha}")
  return Task(config=config, mesh=c.mesh, init=c.init,
              train_step=make_train_step(train_loss(c.objective)), batches=c.data.loader,
              evaluators=evaluators(c, eval_step), step_args=args,
              steps_per_epoch=c.data.loader.steps_per_epoch,
              plot_metrics=("loss",) + tuple(config.metrics), summary=summary,
              assets=dict(c.data.info.assets))

