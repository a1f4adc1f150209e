"""Train or evaluate a config in a workdir, for every experiment: the functions behind
`python -m launch.train`, `python -m launch.eval` and `dlcore train|eval`.

Task families (`config.experiment` in `experiments.EXPERIMENTS`) go through their `make_task`
and the one loop; the runs of several configs ('comparison', 'suite') through `launch.comparison`
and `launch.suite`, which call `train` for each of their runs.
"""

from __future__ import annotations

import pathlib
from typing import Any

from dlcore.errors import ConfigError
from dlcore.registry import closest
from dlcore.train import runner

META = ("comparison", "suite")


def _meta(config):
  if config.get("experiment", "") == "comparison":
    from launch import comparison
    return comparison
  if config.get("experiment", "") == "suite":
    from launch import suite
    return suite
  return None


def _check_experiment(config) -> None:
  from experiments import EXPERIMENTS
  name = config.get("experiment", "")
  if name not in EXPERIMENTS and name not in META:
    valid = sorted([*EXPERIMENTS.names(), *META])
    hint = closest(str(name), valid)
    raise ConfigError(f"Unknown experiment {name!r}."
                      + (f" Did you mean {hint[0]!r}?" if hint else "")
                      + f" Valid experiments: {', '.join(valid)}.")


def train_with_state(config, workdir: str | pathlib.Path) -> tuple[Any, dict]:
  """(final state, result) of training `config` in `workdir` (resuming)."""
  _check_experiment(config)
  meta = _meta(config)
  if meta is not None:
    return None, meta.train(config, pathlib.Path(workdir))
  from experiments import make_task
  return runner.train(make_task(config), workdir)


def train(config, workdir: str | pathlib.Path) -> dict:
  """{'status', 'step', 'test': {...}, ...}: the result of training `config` in `workdir`."""
  return train_with_state(config, workdir)[1]


def evaluate(config, workdir: str | pathlib.Path, split: str = "", which: str = "auto") -> dict:
  """The final evaluators of `config` on the `which` (auto|best|latest) state of `workdir`."""
  _check_experiment(config)
  meta = _meta(config)
  if meta is not None:
    return meta.evaluate(config, pathlib.Path(workdir), split, which)
  from experiments import make_task
  return runner.evaluate(make_task(config), workdir, split, which)
