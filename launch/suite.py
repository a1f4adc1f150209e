"""Run several configs as one command (e.g. the parts of exercise 002 §11.2.7).

Config: `runs` = {run_name: 'configs/<name>.py'} (paths relative to the repository root).
Each runs with its own experiment in `<workdir>/<run_name>/` (resumable); then `<workdir>/report.md`
concatenates their `comparison.md` reports (or their final test metrics).
"""

from __future__ import annotations

import json
import pathlib

from dlcore.config import load_config_file
from dlcore.errors import ConfigError
from dlcore.train.loop import write_config
from dlcore.train.workdir import prepare_workdir
from launch import run

REPO = pathlib.Path(__file__).resolve().parents[1]


def _load(path: str):
  file = pathlib.Path(path)
  return load_config_file(str(file if file.is_absolute() else REPO / file))


def _data_dir_override(config, sub) -> None:
  """The suite's data.data_dir (if set) applies to every run that reads a data dir."""
  data_dir = config.get("data_dir", "")
  if data_dir and "data" in sub and "data_dir" in sub.data:
    sub.data.data_dir = data_dir


def train(config, workdir) -> dict:
  workdir = prepare_workdir(workdir)
  write_config(config, workdir)
  if not config.get("runs"):
    raise ConfigError("a suite config needs runs = {name: 'configs/<name>.py'}.")
  sections, results = [f"# {config.get('title', config.get('name', 'suite'))}\n"], {}
  for name, path in config.runs.items():
    sub = _load(path)
    _data_dir_override(config, sub)
    result = run.train(sub, workdir / name)
    if result.get("status") != "finished":
      return {"status": result.get("status"), "step": result.get("step", 0), "test": {}}
    results[name] = result.get("test", {})
    report = workdir / name / "comparison.md"
    body = (report.read_text().split("\n", 1)[1] if report.exists() else
            "```\n" + json.dumps(results[name], indent=2, default=float) + "\n```\n")
    sections.append(f"## {name} (`{path}`)\n{body}")
  (workdir / "report.md").write_text("\n".join(sections))
  return {"status": "finished", "step": 0,
          "test": {f"{n}/{k}": v for n, r in results.items() for k, v in r.items()}}


def evaluate(config, workdir, split: str = "", which: str = "auto") -> dict:
  return {name: run.evaluate(_load(path), pathlib.Path(workdir) / name, split, which)
          for name, path in config.runs.items()}
