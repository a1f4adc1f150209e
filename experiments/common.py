"""What every trainer does before and after its loop: workdir, config.json, banner, summary."""

from __future__ import annotations

import json
import pathlib

import jax
from rich.console import Console

from dlcore.train import mesh as mesh_lib
from dlcore.train.summary import summary_table


def prepare_workdir(config, workdir: str | pathlib.Path) -> pathlib.Path:
  """Create the workdir and write config.json (the config of the latest launch)."""
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "config.json").write_text(config.to_json_best_effort(indent=2, sort_keys=True) + "\n")
  return workdir


def print_banner(console: Console, config, mesh, params=None, model_state=None) -> None:
  console.rule(f"dlcore: {config.experiment} / {config.get('name', '')}".rstrip(" /"))
  console.print(f"devices: {mesh_lib.describe(mesh)}; jax {jax.__version__}")
  if params is not None:
    console.print(summary_table(params, model_state, title=config.model.get("name", "model")))


def load_config_json(workdir: str | pathlib.Path):
  import ml_collections

  from dlcore.errors import ConfigError
  path = pathlib.Path(workdir) / "config.json"
  if not path.exists():
    raise ConfigError(f"{path} not found: is {workdir} the --workdir of a dlcore training run?")
  return ml_collections.ConfigDict(json.loads(path.read_text()))
