"""Train or evaluate any task in a workdir: the banner, the loop, `launch.eval`'s restore.

    state, result = train(task, workdir)             # resumes when the workdir has checkpoints
    metrics = evaluate(task, workdir, split, which)  # the final evaluators on a restored state
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
from rich.console import Console

from dlcore.errors import ConfigError
from dlcore.train import loop, mesh as mesh_lib
from dlcore.train.summary import summary_table
from dlcore.train.task import Task

WHICH = ("auto", "best", "latest")


def print_banner(console: Console, task: Task, state: Any = None) -> None:
  config = task.config
  console.rule(f"dlcore: {config.experiment} / {config.get('name', '')}".rstrip(" /"))
  console.print(f"devices: {mesh_lib.describe(task.mesh)}; jax {jax.__version__}")
  if state is not None and task.summary_part in getattr(state, "parts", {}):
    part = state.part(task.summary_part)
    title = config.model.get("name", "model") if "model" in config else task.summary_part
    console.print(summary_table(part.params, part.model_state, title=title))
  for label, text in task.summary.items():
    console.print(f"{label}: {text}")


def train(task: Task, workdir: str | pathlib.Path, console: Console | None = None
          ) -> tuple[Any, dict]:
  """Banner, then `loop.run`: (final state, result)."""
  console = console or loop.make_console()
  print_banner(console, task, jax.eval_shape(task.init, jax.random.PRNGKey(0)))
  return loop.run(task, workdir, console=console)


def resolve_which(task: Task, workdir: pathlib.Path, which: str) -> str:
  """'auto': the state training's final evaluation used: the best one when early stopping
  restores it (and it was saved), else the latest."""
  if which not in WHICH:
    raise ConfigError(f"--which={which!r}; use one of {', '.join(WHICH)}.")
  if which != "auto":
    return which
  settings = loop.LoopSettings.from_config(task.config, task.steps_per_epoch)
  saved = any(p.name.isdigit() for p in (workdir / "best_checkpoint").glob("*"))  # not just the dir
  return "best" if settings.restore_best and saved else "latest"


def evaluate(task: Task, workdir: str | pathlib.Path, split: str = "", which: str = "auto",
             console: Console | None = None) -> dict:
  """Restore `which` state of `workdir` and run the task's final evaluators (on `split` when
  given; pictures are skipped). {'step', 'which', 'split', **metrics}."""
  workdir = pathlib.Path(workdir)
  console = console or Console(stderr=True, highlight=False)
  which = resolve_which(task, workdir, which)
  step, state, _, _ = loop.restore_or_init(task, workdir, console, which=which)
  evaluators = [e.on_split(split) if split else e for e in task.evaluators
                if e.at_end and not e.writes_files]
  out: dict = {"step": step, "which": which}
  if split:
    out["split"] = split
  for e in evaluators:
    out.update(e.run(state, tuple(task.step_args), None))
  return out
