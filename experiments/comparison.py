"""Train several variants of one config and compare them (exercises such as 002 §11.2.1).

Config: every key of the base experiment, plus
  base_experiment: the experiment each variant runs (e.g. 'classification');
  variants: {variant_name: {nested overrides of the base config}}.
Each variant runs in `<workdir>/<variant>/` (resumable like any run). Then the comparison:
`<workdir>/comparison.md` (a table of final test metrics) and `<workdir>/plots/compare_<m>.png`
(train and eval curves of every variant overlaid, one PNG per metric).
"""

from __future__ import annotations

import pathlib
import time

import ml_collections
from rich.console import Console
from rich.table import Table

from dlcore.errors import ConfigError
from dlcore.registry import closest
from dlcore.train.metric_logger import read_metrics
from dlcore.viz.curves import plot_comparison
from dlcore.train.loop import make_console
from experiments import EXPERIMENTS, common

COMPARISON_KEYS = ("variants", "base_experiment")


def _flatten(d, prefix=""):
  for k, v in d.items():
    if isinstance(v, (dict, ml_collections.ConfigDict)):
      yield from _flatten(v, f"{prefix}{k}.")
    else:
      yield f"{prefix}{k}", v


def variant_config(config, name: str) -> ml_collections.ConfigDict:
  """The base config with the overrides of variant `name` applied (unknown keys rejected)."""
  base = ml_collections.ConfigDict(
      {k: v for k, v in config.to_dict().items() if k not in COMPARISON_KEYS})
  base.experiment = config.base_experiment
  base.name = f"{config.get('name', 'comparison')}/{name}"
  for dotted, value in _flatten(config.variants[name]):
    node, keys = base, dotted.split(".")
    for i, key in enumerate(keys):
      if key not in node:
        hint = closest(key, list(node.keys()))
        raise ConfigError(f"variant {name!r} overrides unknown key '{dotted}'"
                          + (f"; did you mean '{'.'.join(keys[:i] + [hint[0]])}'?" if hint else "."))
      if i < len(keys) - 1:
        node = node[key]
    node[keys[-1]] = value
  return base


def _table(rows: list[dict], metrics: list[str]) -> str:
  head = "| variant | " + " | ".join(f"test {m}" for m in metrics) + " | steps | wall time (s) |"
  lines = [head, "|" + "---|" * (len(metrics) + 3)]
  for r in rows:
    cells = " | ".join(f"{r['test'].get(m, float('nan')):.4f}" for m in metrics)
    lines.append(f"| {r['variant']} | {cells} | {r['step']} | {r['seconds']:.0f} |")
  return "\n".join(lines) + "\n"


def train_and_evaluate(config, workdir) -> dict:
  console = make_console()
  workdir = common.prepare_workdir(config, workdir)
  experiment = EXPERIMENTS.get(config.base_experiment)
  configs = {name: variant_config(config, name) for name in config.variants}  # validate first
  rows, runs = [], {}
  for name, cfg in configs.items():
    console.rule(f"variant {name}")
    start = time.time()
    result = experiment.train_and_evaluate(cfg, workdir / name)
    if result.get("status") != "finished":
      console.print(f"stopped during variant {name!r}; rerun the same command to resume.")
      return {"status": result.get("status"), "step": result.get("step", 0), "test": {}}
    rows.append({"variant": name, "test": result["test"], "step": result["step"],
                 "seconds": time.time() - start})
    runs[name] = read_metrics(workdir / name / "metrics.jsonl")

  metrics = ["loss"] + [m for m in config.metrics if m != "loss"]
  for m in metrics:
    plot_comparison(runs, workdir / "plots" / f"compare_{m}.png", m,
                    title=f"{config.get('name', '')}: {m}")
  title = config.get("title", config.get("name", "comparison"))
  (workdir / "comparison.md").write_text(f"# {title}\n\n" + _table(rows, metrics))
  table = Table(title=title)
  for col in ["variant"] + [f"test {m}" for m in metrics] + ["steps", "seconds"]:
    table.add_column(col)
  for r in rows:
    table.add_row(r["variant"], *[f"{r['test'].get(m, float('nan')):.4f}" for m in metrics],
                  str(r["step"]), f"{r['seconds']:.0f}")
  console.print(table)
  return {"status": "finished", "step": sum(r["step"] for r in rows),
          "test": {f"{r['variant']}/{m}": r["test"].get(m) for r in rows for m in metrics}}


def evaluate(config, workdir, split: str = "test") -> dict:
  experiment = EXPERIMENTS.get(config.base_experiment)
  return {name: experiment.evaluate(variant_config(config, name), pathlib.Path(workdir) / name,
                                    split) for name in config.variants}
