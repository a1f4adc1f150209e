"""The one training loop, for every task, read top to bottom:

1. the initial state (`task.init`, placed on the mesh; optionally warm-started from another
   run), then the latest good checkpoint of the workdir (state, data position, early stopping):
   a checkpoint of another model stops with an error; a damaged one is moved aside and the
   previous one used, saying so;
2. step: the next prefetched batch (or None for tasks that make their data in the step) ->
   jitted `train_step(state, batch, *step_args)`;
3. every `log_every` steps: fetch the metrics, stop with an error on a NaN/Inf step (after
   saving the last good state), log to metrics.jsonl / TensorBoard / console, with the
   throughput (examples/s, tokens/s, FLOP/s, MFU: `dlcore.train.throughput`; an optional
   profiler trace of a few steps);
4. evaluators due at this step (`config.evals`); early stopping on one of them, best state;
5. every `checkpoint_every` steps, on SIGTERM/SIGINT, and at the end: checkpoint;
6. the evaluators that run at the end, on the final state (the best one when early stopping
   restores it); plots of every metric the task reports.

Only process 0 writes config.json, logs and plots.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import sys
import time
from typing import Any

import jax
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from dlcore.config import cfg_get
from dlcore.data.loader import IndexBatches
from dlcore.data.prefetch import Prefetcher
from dlcore.errors import ConfigError, NonFiniteLossError
from dlcore.evals.split_metrics import max_inflight_steps
from dlcore.metrics import compute, merge_all
from dlcore.train import mesh as mesh_lib, resident as resident_lib, sharding as sharding_lib
from dlcore.train.assets import check_assets, write_assets
from dlcore.train.checkpoint import Checkpointer
from dlcore.train.early_stopping import EarlyStopping
from dlcore.train.metric_logger import MetricLogger, read_metrics
from dlcore.train.signals import agreed_stop, stop_on_signals
from dlcore.train.step import compile_pmap_train_step, compile_train_step
from dlcore.train.task import Task
from dlcore.train.throughput import LOGGED as THROUGHPUT, ProfileWindow, Throughput
from dlcore.train.warm_start import WHICH, warm_start
from dlcore.viz.curves import plot_curves

RUN_FILES = ("checkpoints", "best_checkpoint", "damaged_checkpoints", "metrics.jsonl",
             "tensorboard", "plots")


def _positive(key: str, value: Any, allow_zero: bool = True) -> int:
  if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
    raise ConfigError(f"{key} must be an int >= {0 if allow_zero else 1}, got {value!r}.")
  return value


@dataclasses.dataclass
class LoopSettings:
  """How long to train and how often to log and checkpoint (from `config.train`)."""
  num_steps: int
  log_every: int = 100
  checkpoint_every: int = 0
  max_checkpoints: int = 3
  progress: bool = True
  overwrite: bool = False
  early_stopping: EarlyStopping | None = None
  early_stopping_eval: str = "eval"
  restore_best: bool = False

  @classmethod
  def from_config(cls, config, steps_per_epoch: int = 0) -> "LoopSettings":
    """`train.num_steps` (primary) or `train.num_epochs` x steps per epoch; 0 for an interval
    means once per epoch. Early stopping from `config.early_stopping` (its `eval`: the
    evaluator it watches, default 'eval')."""
    t = config.train
    num_steps = _positive("train.num_steps", cfg_get(t, "num_steps", 0))
    epochs = _positive("train.num_epochs", cfg_get(t, "num_epochs", 0))
    if not num_steps:
      if epochs and not steps_per_epoch:
        raise ConfigError("train.num_epochs needs a task with a dataset; set train.num_steps.")
      num_steps = epochs * steps_per_epoch
    if num_steps < 1:
      raise ConfigError(f"nothing to train: train.num_steps={cfg_get(t, 'num_steps', 0)} and "
                        f"train.num_epochs={cfg_get(t, 'num_epochs', 0)}; set one of them > 0.")
    every = _positive("train.checkpoint_every", cfg_get(t, "checkpoint_every", 0))
    es = config.get("early_stopping", None)
    early = None
    restore_best = False
    if es is not None:
      early = EarlyStopping(metric=es.get("metric", "loss"), mode=es.get("mode", "min"),
                            patience=int(es.get("patience", 0)),
                            min_delta=float(es.get("min_delta", 0.0)))
      restore_best = bool(es.get("patience", 0) > 0 or es.get("restore_best", False))
    return cls(num_steps=num_steps,
               log_every=_positive("train.log_every", cfg_get(t, "log_every", 100), False),
               checkpoint_every=every or steps_per_epoch or num_steps,
               max_checkpoints=_positive("train.max_checkpoints",
                                         cfg_get(t, "max_checkpoints", 3), False),
               progress=bool(cfg_get(t, "progress", True)),
               overwrite=bool(cfg_get(t, "overwrite", False)),
               early_stopping=early,
               early_stopping_eval=str(es.get("eval", "eval")) if es is not None else "eval",
               restore_best=restore_best)


def make_console() -> Console:
  """Rich console; wide lines when stdout is not a terminal (logs, CI)."""
  return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _progress(console: Console, enabled: bool) -> Progress:
  return Progress(TextColumn("[bold]train[/bold]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=console, disable=not enabled, transient=False)


def is_writer() -> bool:
  """Only process 0 writes logs, config.json and plots."""
  return jax.process_index() == 0


def write_config(config, workdir: pathlib.Path) -> None:
  if is_writer():
    (workdir / "config.json").write_text(config.to_json_best_effort(indent=2, sort_keys=True)
                                         + "\n")


def clear_run(workdir: pathlib.Path, console: Console) -> None:
  """train.overwrite=True: delete the previous run's checkpoints, logs and plots."""
  removed = [name for name in RUN_FILES if (workdir / name).exists()]
  for name in removed:
    path = workdir / name
    shutil.rmtree(path) if path.is_dir() else path.unlink()
  if removed:
    console.print(f"train.overwrite=True: deleted {', '.join(removed)} of the previous run in "
                  f"{workdir}")


def initial_state(task: Task):
  """`task.init(PRNGKey(config.seed))` placed with the task's state shardings (the task's own,
  else those of `config.mesh`'s FSDP/tensor-parallel rules, else replicated), and those
  shardings."""
  rng = jax.random.PRNGKey(int(task.config.get("seed", 0)))
  abstract = jax.eval_shape(task.init, rng)
  mesh_config = task.config.get("mesh", None)
  if task.state_sharding is not None:
    if sharding_lib.wants_sharding(mesh_config):
      raise ConfigError("this task places its state itself (Task.state_sharding); remove "
                        "mesh.fsdp / mesh.rules from the config, they would be ignored.")
    sharding = task.state_sharding(task.mesh, abstract)
  elif sharding_lib.wants_sharding(mesh_config):
    sharding = sharding_lib.state_shardings(task.mesh, abstract, mesh_config)
  else:
    sharding = jax.tree.map(lambda _: mesh_lib.replicated(task.mesh), abstract)
  state = jax.jit(task.init, out_shardings=sharding)(rng)
  return state, sharding


def restore_or_init(task: Task, workdir: pathlib.Path, console: Console, which: str = "latest",
                    repair: bool = False):
  """(step, state, data_state, meta) of `workdir`'s latest (or best) good checkpoint, restored
  into the task's state (what `launch.eval` and tests restore). A ConfigError when there is
  none. (The loop itself restores through the same `Checkpointer.restore_latest`.)"""
  check_assets(task.assets, workdir)
  state, _ = initial_state(task)
  subdir = WHICH[which]
  ckpt = Checkpointer(workdir / subdir)
  try:
    restored = ckpt.restore_latest(state, repair=repair)
  finally:
    ckpt.close()
  if restored is not None:
    for step, reason in restored.skipped:
      console.print(f"checkpoint at step {step} in {ckpt.directory} cannot be read ({reason}); "
                    f"using the previous one")
  if restored is None or restored.state is None:
    damaged = f" (all {len(restored.skipped)} are damaged)" if restored else ""
    raise ConfigError(f"No usable checkpoint in {ckpt.directory}{damaged}; train first: "
                      f"python -m launch.train --config <config> --workdir {workdir}")
  return restored.step, restored.state, restored.data_state, restored.meta


def run(task: Task, workdir: str | pathlib.Path, settings: LoopSettings | None = None,
        console: Console | None = None) -> tuple[Any, dict[str, Any]]:
  """Train `task` to `settings.num_steps` in `workdir`, resuming from its checkpoints.

  Returns (final state, result): result is {'status': 'finished' | 'interrupted', 'step': int,
  <event>: {metric: value} for every evaluator event at the end (e.g. 'test')}. The final state
  is the best one when early stopping restores it.
  """
  workdir = pathlib.Path(workdir)
  console = console or make_console()
  settings = settings or LoopSettings.from_config(task.config, task.steps_per_epoch)
  if settings.overwrite:
    clear_run(workdir, console)
  periodic = [e for e in task.evaluators if e.every > 0]
  early = settings.early_stopping or EarlyStopping()
  watched = next((e for e in periodic if e.name == settings.early_stopping_eval), None)
  if (settings.restore_best or early.patience > 0) and watched is None:
    raise ConfigError(f"early stopping watches evaluator {settings.early_stopping_eval!r}, "
                      f"which does not run periodically; periodic evaluators: "
                      f"{', '.join(e.name for e in periodic) or 'none'} (set "
                      f"early_stopping.eval or evals.<name>.every).")

  state, sharding = initial_state(task)
  ckpt = Checkpointer(workdir / "checkpoints", settings.max_checkpoints,
                      settings.checkpoint_every)
  best_ckpt = Checkpointer(workdir / "best_checkpoint", 1, async_save=False)
  logger = None
  try:
    if ckpt.steps():  # before restoring: a checkpoint trained on another vocabulary stops here
      check_assets(task.assets, workdir)
    restored = ckpt.restore_latest(state)  # a checkpoint of another model stops here
    stopped_early = False
    start_step = 0
    if restored is not None:
      for step, reason in restored.skipped:
        console.print(f"checkpoint at step {step} cannot be read ({reason}); moved it to "
                      f"{workdir / 'damaged_checkpoints'}")
    if restored is not None and restored.state is not None:
      start_step, state = restored.step, restored.state
      if task.batches is not None:
        task.batches.set_state(restored.data_state)
      early.load_state_dict(restored.meta.get("early_stopping", {}))
      stopped_early = bool(restored.meta.get("stopped_early", False))
      fell_back = f" (fell back from damaged step {restored.skipped[0][0]})" \
          if restored.skipped else ""
      console.print(f"resumed from checkpoint at step {start_step}{fell_back} ({ckpt.directory})")
    else:
      if restored is not None:
        console.print(f"no readable checkpoint left in {ckpt.directory}: starting from step 0")
      state = warm_start(state, task.config.get("init_from", None), console,  # fresh runs only
                         task.assets)
    stale = [s for s in best_ckpt.steps() if s > start_step]
    if stale:  # a best state from beyond the resumed step belongs to a discarded future
      best_ckpt.delete(stale)
    write_config(task.config, workdir)
    if is_writer():
      write_assets(task.assets, workdir, resumed=start_step > 0)
    logger = MetricLogger(workdir, console, active=is_writer())
    logger.truncate_after(start_step)
    state, result = _train(task, settings, workdir, console, state, sharding, ckpt, best_ckpt,
                           logger, early, watched, stopped_early)
    return state, result
  finally:
    if logger is not None:
      logger.close()
    ckpt.close()
    best_ckpt.close()


def _train(task, settings, workdir, console, state, sharding, ckpt, best_ckpt, logger, early,
           watched, stopped_early):
  mesh, args = task.mesh, tuple(task.step_args)
  step = int(jax.device_get(state.step))
  step_fn, data = task.train_step, task.batches
  resident = resident_lib.train_arrays(task.config, data)
  if resident is not None:  # the step gathers its rows from the device-resident arrays
    step_fn, data = resident_lib.gather_step(step_fn), IndexBatches(data)
    args = (resident_lib.put_arrays(resident, mesh),) + args
    console.print(resident_lib.describe(resident))
  pmap = mesh_lib.mesh_mode(task.config.get("mesh")) == "pmap"
  if pmap:
    if task.state_sharding is not None or sharding_lib.wants_sharding(task.config.get("mesh")):
      raise ConfigError("config.mesh.mode='pmap' replicates the state; this run shards it "
                        "(config.mesh.fsdp / config.mesh.rules, or the task's own sharding). "
                        "Use config.mesh.mode='jit'.")
    train_step = compile_pmap_train_step(step_fn, mesh, num_args=len(args))
    put = lambda b: mesh_lib.put_batch_pmap(b, mesh)
  else:
    train_step = compile_train_step(step_fn, mesh, num_args=len(args), state_sharding=sharding)
    put = lambda b: mesh_lib.put_batch(b, mesh)
  step_args, args = args, tuple(task.step_args)  # the step's arguments; the evaluators' ones
  batches = None if data is None else Prefetcher(data, put, size=2)
  data_state = (lambda: batches.get_state()) if batches is not None else (lambda: {})
  periodic = [e for e in task.evaluators if e.every > 0]

  def save(s, stopped: bool = False) -> None:
    check_finite(s)  # a state after a NaN/Inf step is saved only with its flag reset
    ckpt.save(int(jax.device_get(s.step)), s, data_state(),
              {"early_stopping": early.state_dict(), "stopped_early": stopped})

  def check_finite(s) -> None:
    bad = int(jax.device_get(s.nonfinite_step))
    if bad >= 0:
      ckpt.save(bad, s.replace(nonfinite_step=jax.numpy.full_like(s.nonfinite_step, -1)),
                data_state(), {"early_stopping": early.state_dict(), "stopped_early": False})
      ckpt.wait()
      raise NonFiniteLossError(
          f"Loss, gradient or update became NaN/Inf at step {bad + 1}; the last good state "
          f"(step {bad}, all finite) is saved in {ckpt.directory}. Lower "
          f"optimizer.learning_rate or set optimizer.grad_clip_norm, then rerun the same "
          f"command to continue from step {bad}, or add --config.train.overwrite=True to "
          f"start afresh.")

  inflight = max_inflight_steps(mesh)
  throughput = Throughput(task.config, mesh.devices.size)
  profile = ProfileWindow(task.config, workdir, step, console)
  status, pending, t_last, s_last = "finished", [], time.time(), step
  converged = False
  try:
    with stop_on_signals() as stop, _progress(console, settings.progress) as progress:
      bar = progress.add_task("train", total=settings.num_steps, completed=step, rate="")
      while step < settings.num_steps and not stopped_early and not converged:
        profile.before(step)
        batch = None if batches is None else next(batches)
        state, metrics = train_step(state, batch, *step_args)
        if not throughput.measured:  # the compiled step is cached: no second compilation
          throughput.measure(train_step, state, batch, *step_args, pmap=pmap)
        del batch
        pending.append(metrics)
        if len(pending) > inflight:  # bound the asynchronous dispatch queue
          jax.block_until_ready(pending[-inflight - 1])
        step += 1
        profile.after(step, state)
        progress.update(bar, completed=step)
        if step % settings.log_every == 0 or step == settings.num_steps:
          values = compute(merge_all(pending))
          pending = []
          check_finite(state)
          now = time.time()
          values["steps_per_sec"] = (step - s_last) / max(now - t_last, 1e-9)
          values.update(throughput.rates(values["steps_per_sec"]))
          t_last, s_last = now, step
          progress.update(bar, rate=f"{values['steps_per_sec']:.1f} steps/s")
          values.pop("num_examples", None)
          logger.write(step, "train", values)
          converged = task.stop_when is not None and bool(task.stop_when(values))
        for evaluator in periodic:
          if evaluator.due(step, settings.num_steps) or (converged and evaluator is watched):
            check_finite(state)  # never evaluate (or keep as best) the state of a NaN/Inf run
            values = evaluator.run(state, args, workdir)
            logger.write(step, evaluator.event, values)
            if evaluator is watched:
              improved, stopped_early = early.update(values, step)
              if improved and settings.restore_best:
                best_ckpt.save(step, state, data_state(), {"metrics": values})
              if stopped_early:
                console.print(f"early stopping at step {step}: {early.metric} has not improved "
                              f"for {early.patience} evaluations (best {early.best:.4g} at step "
                              f"{early.best_step})")
        if (ckpt.should_save(step) or step == settings.num_steps or stopped_early
            or converged):
          save(state, stopped_early)
        if agreed_stop(stop, step % settings.log_every == 0 or step == settings.num_steps):
          save(state)
          status = "interrupted"
          console.print(f"{stop.signal_name} received: saved checkpoint at step {step}; rerun "
                        f"the same command to resume.")
          break
    check_finite(state)
  finally:
    profile.stop(state)
    if batches is not None:
      batches.close()
    ckpt.wait()
    logger.flush()

  result: dict[str, Any] = {"status": status, "step": step}
  if status != "finished":
    return state, result
  if converged:
    console.print(f"stopped at step {step}: the task's stopping criterion holds")
  if settings.restore_best and best_ckpt.steps():
    restored = best_ckpt.restore_latest(state)
    state = restored.state
    console.print(f"restored the best state (step {restored.step}, {early.metric}="
                  f"{early.best:.4g}) for the final evaluation")
  result.update(final_evaluations(task, state, step, logger, workdir))
  if is_writer():
    events = read_metrics(logger.path)
    names = list(task.plot_metrics) if task.plot_metrics is not None else _reported(events)
    plot_curves(events, workdir / "plots", names, workdir.name)
  return state, result


def final_evaluations(task: Task, state, step: int, logger: MetricLogger | None,
                      workdir: pathlib.Path, skip_files: bool = False) -> dict[str, dict]:
  """Run the evaluators that run at the end; {event: merged values}, one log event each."""
  events: dict[str, dict] = {}
  for evaluator in task.evaluators:
    if evaluator.at_end and not (skip_files and evaluator.writes_files):
      events.setdefault(evaluator.event, {}).update(
          evaluator.run(state, tuple(task.step_args), workdir))
  if logger is not None:
    for event, values in events.items():
      logger.write(step, event, values)
  return events


_NOT_PLOTTED = {"step", "split", "time", "elapsed", "num_examples", "steps_per_sec",
                *THROUGHPUT}


def _reported(events: list[dict]) -> list[str]:
  """Every numeric metric that appears in the training events, in order of first appearance."""
  names = {}
  for e in events:
    if e.get("split") == "train":
      names.update({k: None for k, v in e.items()
                    if k not in _NOT_PLOTTED and isinstance(v, (int, float))})
  return list(names)
