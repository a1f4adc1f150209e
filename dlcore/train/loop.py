"""The training loop shared by every supervised trainer, read top to bottom:

1. restore the latest checkpoint (state + data position + early-stopping state), if any;
2. step: next prefetched batch -> jitted `train_step`; metrics merged on device;
3. every `log_every` steps: fetch metrics, stop with an error on a NaN/Inf loss (after saving
   the last good state), log to metrics.jsonl / TensorBoard / console;
4. every `eval_every` steps: evaluate every example of the eval split, early stopping, best state;
5. every `checkpoint_every` steps, on SIGTERM/SIGINT, and at the end: checkpoint;
6. final evaluation on the test split (from the best state when early stopping is on); plots.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys
import time
from typing import Any, Callable, Mapping

import jax
import numpy as np
from jax.sharding import Mesh
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from dlcore.data.loader import TrainLoader, eval_batches
from dlcore.data.prefetch import Prefetcher
from dlcore.errors import NonFiniteLossError
from dlcore.metrics import compute, merge_all
from dlcore.train import mesh as mesh_lib
from dlcore.train.checkpoint import Checkpointer
from dlcore.train.early_stopping import EarlyStopping
from dlcore.train.metric_logger import MetricLogger, read_metrics
from dlcore.train.signals import stop_on_signals
from dlcore.train.state import TrainState
from dlcore.viz.curves import plot_curves


@dataclasses.dataclass
class LoopSettings:
  """How long to train and how often to log/evaluate/checkpoint (from `config.train`)."""
  num_steps: int
  log_every: int
  eval_every: int
  checkpoint_every: int
  max_checkpoints: int = 3
  eval_batch_size: int = 1000
  eval_split: str = "test"
  test_split: str = "test"
  restore_best: bool = False
  progress: bool = True

  @classmethod
  def from_config(cls, config, steps_per_epoch: int) -> "LoopSettings":
    t = config.train
    num_steps = int(t.get("num_steps", 0) or 0) or int(t.num_epochs) * steps_per_epoch
    per_epoch = lambda v: int(v) if int(v) > 0 else steps_per_epoch  # 0 = once per epoch
    es = config.get("early_stopping", None)
    return cls(num_steps=num_steps,
               log_every=max(1, int(t.get("log_every", 100))),
               eval_every=per_epoch(t.get("eval_every", 0)),
               checkpoint_every=per_epoch(t.get("checkpoint_every", 0)),
               max_checkpoints=int(t.get("max_checkpoints", 3)),
               eval_batch_size=int(config.eval.get("batch_size", 1000)),
               eval_split=str(config.eval.get("split", "test")),
               test_split=str(config.eval.get("test_split", "test")),
               restore_best=bool(es is not None and
                                 (es.get("patience", 0) > 0 or es.get("restore_best", False))),
               progress=bool(t.get("progress", True)))


def evaluate(eval_step: Callable, state: TrainState, arrays: Mapping[str, np.ndarray],
             batch_size: int, mesh: Mesh) -> dict[str, float]:
  """Metrics over every example of `arrays` (last batch padded and masked)."""
  pending, inflight = [], max_inflight_steps(mesh)
  for batch in eval_batches(arrays, batch_size):
    pending.append(eval_step(state, mesh_lib.put_batch(batch, mesh)))
    if len(pending) > inflight:
      jax.block_until_ready(pending[-inflight - 1])
  return compute(merge_all(pending))


def max_inflight_steps(mesh: Mesh) -> int:
  """How many dispatched steps may run ahead of the host.

  Two on accelerators (enough to hide the host's work). One on a multi-device CPU mesh: there
  the 'devices' share a small thread pool, and the collectives of several in-flight steps can
  wait on each other until XLA aborts (observed with 8 fake devices on 2 cores).
  """
  if mesh.size > 1 and mesh.devices.flat[0].platform == "cpu":
    return 1
  return 2


def make_console() -> Console:
  """Rich console; wide lines when stdout is not a terminal (logs, CI)."""
  return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _progress(console: Console, enabled: bool) -> Progress:
  return Progress(TextColumn("[bold]train[/bold]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=console, disable=not enabled, transient=False)


def run(*, workdir: str | pathlib.Path, settings: LoopSettings, state: TrainState,
        train_step: Callable, eval_step: Callable, train_loader: TrainLoader,
        eval_sets: Mapping[str, Mapping[str, np.ndarray]], mesh: Mesh,
        early_stopping: EarlyStopping | None = None, checkpoint_meta: dict | None = None,
        console: Console | None = None, plot_metrics=("loss", "accuracy")) -> dict[str, Any]:
  """Train to `settings.num_steps`, resuming from `<workdir>/checkpoints` when present.

  Returns {'status': 'finished' | 'interrupted', 'step': int, 'test': {...metrics}}.
  """
  workdir = pathlib.Path(workdir)
  console = console or make_console()
  logger = MetricLogger(workdir, console)
  ckpt = Checkpointer(workdir / "checkpoints", settings.max_checkpoints,
                      settings.checkpoint_every)
  best_ckpt = Checkpointer(workdir / "best_checkpoint", 1, async_save=False)
  early = early_stopping or EarlyStopping()
  meta = dict(checkpoint_meta or {})

  restored = ckpt.restore_latest(state)
  stopped_early = False
  if restored is not None:
    step, state, data_state, saved_meta = restored
    train_loader.set_state(data_state)
    early.load_state_dict(saved_meta.get("early_stopping", {}))
    stopped_early = bool(saved_meta.get("stopped_early", False))
    logger.truncate_after(step)
    console.print(f"resumed from checkpoint at step {step} ({ckpt.directory})")
  step = int(jax.device_get(state.step))

  def save(s: TrainState, data_state: dict, stopped: bool = False) -> None:
    ckpt.save(int(jax.device_get(s.step)), s, data_state,
              dict(meta, early_stopping=early.state_dict(), stopped_early=stopped))

  def check_finite(s: TrainState, data_state: dict) -> None:
    bad = int(jax.device_get(s.nonfinite_step))
    if bad >= 0:
      save(s, data_state)
      ckpt.wait()
      raise NonFiniteLossError(
          f"Loss or gradient became NaN/Inf at step {bad + 1}; the last good state (step {bad}) "
          f"is saved in {ckpt.directory}. Lower the learning rate or set "
          f"--config.optimizer.grad_clip_norm.")

  batches = Prefetcher(train_loader, lambda b: mesh_lib.put_batch(b, mesh), size=2)
  inflight = max_inflight_steps(mesh)
  status = "finished"
  pending, t_last, s_last = [], time.time(), step
  try:
    with stop_on_signals() as stop, _progress(console, settings.progress) as progress:
      task = progress.add_task("train", total=settings.num_steps, completed=step, rate="")
      while step < settings.num_steps and not stopped_early:
        state, metrics = train_step(state, next(batches))
        pending.append(metrics)
        if len(pending) > inflight:  # bound the asynchronous dispatch queue
          jax.block_until_ready(pending[-inflight - 1])
        step += 1
        progress.update(task, completed=step)
        if step % settings.log_every == 0 or step == settings.num_steps:
          values = compute(merge_all(pending))
          pending = []
          check_finite(state, batches.get_state())
          now = time.time()
          values["steps_per_sec"] = (step - s_last) / max(now - t_last, 1e-9)
          t_last, s_last = now, step
          progress.update(task, rate=f"{values['steps_per_sec']:.1f} steps/s")
          values.pop("num_examples", None)
          logger.write(step, "train", values)
        if step % settings.eval_every == 0 or step == settings.num_steps:
          values = evaluate(eval_step, state, eval_sets[settings.eval_split],
                            settings.eval_batch_size, mesh)
          logger.write(step, "eval", values)
          improved, stopped_early = early.update(values, step)
          if improved and settings.restore_best:
            best_ckpt.save(step, state, batches.get_state(), {"metrics": values})
          if stopped_early:
            console.print(f"early stopping at step {step}: {early.metric} has not improved for "
                          f"{early.patience} evaluations (best {early.best:.4g} at step "
                          f"{early.best_step})")
        if ckpt.should_save(step) or step == settings.num_steps or stopped_early:
          save(state, batches.get_state(), stopped_early)
        if stop.requested:
          save(state, batches.get_state())
          status = "interrupted"
          console.print(f"{stop.signal_name} received: saved checkpoint at step {step}; rerun "
                        f"the same command to resume.")
          break
    check_finite(state, batches.get_state())
  except BaseException:
    logger.close()
    best_ckpt.close()
    raise
  finally:
    batches.close()
    ckpt.close()
    logger.flush()

  result: dict[str, Any] = {"status": status, "step": step}
  if status == "finished":
    final_state = state
    if settings.restore_best and best_ckpt.steps():
      best_step, final_state, _, _ = best_ckpt.restore_latest(state)
      console.print(f"restored the best state (step {best_step}, {early.metric}="
                    f"{early.best:.4g}) for the final evaluation")
    test = evaluate(eval_step, final_state, eval_sets[settings.test_split],
                    settings.eval_batch_size, mesh)
    logger.write(step, "test", test)
    result["test"] = test
    plot_curves(read_metrics(logger.path), workdir / "plots", plot_metrics, workdir.name)
  best_ckpt.close()
  logger.close()
  return result
