"""Train several variants of one config and compare them (exercises such as 002 §11.2.1).

Config: every key of the base experiment, plus
  base_experiment: the experiment each variant runs (e.g. 'classification');
  variants: {variant_name: {nested overrides of the base config}}; a variant's `replace` lists
    sections it gives whole instead of merging (e.g. replace=('model',) to swap architectures).
Each variant runs in `<workdir>/<variant>/` (resumable like any run). A variant whose loss
becomes NaN/Inf is recorded as diverged (the others still run). Then the comparison:
`<workdir>/comparison.md` (final metrics on the test split and, with `report_train_split`, on
the training split and the train-test gap), `<workdir>/plots/compare_<m>.png` (train and eval
curves of every variant overlaid) and, with `weight_histograms`, `plots/weight_histograms.png`
(the distribution of the final kernel weights of every variant); with `report_per_class`,
columns for the test macro F1 and the recall of every class. Pictures that variants write
with `eval.inspect` (confusion matrix, error gallery, Grad-CAM, feature maps) are linked from an
"Inspection" section of comparison.md.
"""

from __future__ import annotations

import pathlib
import time

import ml_collections
from rich.table import Table

import jax

from dlcore.errors import ConfigError, NonFiniteLossError
from dlcore.registry import closest
from dlcore.train.loop import make_console, write_config
from dlcore.train.metric_logger import read_metrics
from dlcore.train.workdir import prepare_workdir
from dlcore.viz.curves import plot_comparison, plot_weight_histograms
from launch import run

COMPARISON_KEYS = ("variants", "base_experiment", "report_train_split", "weight_histograms",
                   "report_per_class", "title")


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
  overrides = config.variants[name].to_dict()
  for section in overrides.pop("replace", ()):  # whole sections, e.g. a different model
    if section not in overrides or section not in base:
      raise ConfigError(f"variant {name!r} replaces section {section!r}, which it must give "
                        f"and the base config must have.")
    base[section] = ml_collections.ConfigDict(overrides.pop(section))
  for dotted, value in _flatten(overrides):
    node, keys = base, dotted.split(".")
    for i, key in enumerate(keys):
      if key not in node:
        hint = closest(key, list(node.keys()))
        close = ".".join(keys[:i] + [hint[0]]) if hint else ""
        raise ConfigError(f"variant {name!r} overrides unknown key '{dotted}'"
                          + (f"; did you mean '{close}'?" if hint else "."))
      if i < len(keys) - 1:
        node = node[key]
    node[keys[-1]] = value
  return base


def _fmt(v) -> str:
  return f"{v:.4f}" if isinstance(v, (int, float)) else "-"


def _table(rows: list[dict], metrics: list[str]) -> str:
  with_train = any("train" in r for r in rows)
  cols = [f"test {m}" for m in metrics]
  if with_train:
    cols += [f"train {m}" for m in metrics] + [f"gap {metrics[-1]} (train-test)"]
  extra = list(next((r["extra"] for r in rows if r.get("extra")), {}))
  cols += extra
  lines = ["| variant | " + " | ".join(cols) + " | steps | wall time (s) | note |",
           "|" + "---|" * (len(cols) + 4)]
  for r in rows:
    cells = [_fmt(r["test"].get(m)) for m in metrics]
    if with_train:
      train = r.get("train", {})
      cells += [_fmt(train.get(m)) for m in metrics]
      gap = (train[metrics[-1]] - r["test"][metrics[-1]]
             if metrics[-1] in train and metrics[-1] in r["test"] else None)
      cells.append(_fmt(gap))
    cells += [r.get("extra", {}).get(c, "-") for c in extra]
    lines.append(f"| {r['variant']} | {' | '.join(cells)} | {r['step']} | {r['seconds']:.0f} | "
                 f"{r.get('note', '')} |")
  return "\n".join(lines) + "\n"


def _inspection_section(rows: list[dict], workdir: pathlib.Path) -> str:
  """Markdown links to every variant's inspection pictures (paths relative to `workdir`)."""
  lines = []
  for r in rows:
    for name, files in r.get("inspect", {}).items():
      if isinstance(files, str):  # a note, e.g. "skipped: MLP has no convolution"
        lines.append(f"- {r['variant']} {name}: {files}")
        continue
      links = ", ".join(f"[{pathlib.Path(f).name}]({pathlib.Path(f).relative_to(workdir)})"
                        for f in files)
      lines.append(f"- {r['variant']} {name}: {links}")
  return "\n## Inspection\n\n" + "\n".join(lines) + "\n" if lines else ""


def train(config, workdir) -> dict:
  console = make_console()
  workdir = prepare_workdir(workdir)
  write_config(config, workdir)
  configs = {name: variant_config(config, name) for name in config.variants}  # validate first
  rows, runs, weights = [], {}, {}
  for name, cfg in configs.items():
    console.rule(f"variant {name}")
    start = time.time()
    try:
      state, result = run.train_with_state(cfg, workdir / name)
    except NonFiniteLossError as e:
      console.print(f"variant {name!r} diverged: {e}")
      rows.append({"variant": name, "test": {}, "step": -1, "seconds": time.time() - start,
                   "note": "diverged (NaN/Inf loss)"})
      runs[name] = read_metrics(workdir / name / "metrics.jsonl")
      continue
    if result.get("status") != "finished":
      console.print(f"stopped during variant {name!r}; rerun the same command to resume.")
      return {"status": result.get("status"), "step": result.get("step", 0), "test": {}}
    row = {"variant": name, "test": result["test"], "step": result["step"],
           "seconds": time.time() - start, "note": "", "inspect": result.get("inspect", {})}
    if config.get("report_train_split", False):
      row["train"] = run.evaluate(cfg, workdir / name, "train")
    if config.get("report_per_class", False):
      test = result["test"]
      if "macro_f1" not in test:
        raise ConfigError("report_per_class needs eval.reports to include 'per_class'.")
      recalls = [test[k] for k in sorted((k for k in test if k.startswith("recall_")),
                                         key=lambda k: int(k.split("_")[1]))]
      row["extra"] = {"test macro F1": f"{test['macro_f1']:.4f}",
                      "test recall per class": " / ".join(f"{r:.3f}" for r in recalls)}
    if config.get("weight_histograms", False):
      weights[name] = jax.device_get(state.eval_params())
    rows.append(row)
    runs[name] = read_metrics(workdir / name / "metrics.jsonl")

  metrics = ["loss"] + [m for m in config.metrics if m != "loss"]
  if weights:
    plot_weight_histograms(weights, workdir / "plots" / "weight_histograms.png",
                           title=f"{config.get('name', '')}: final kernel weights")
  for m in metrics:
    plot_comparison(runs, workdir / "plots" / f"compare_{m}.png", m,
                    title=f"{config.get('name', '')}: {m}")
  title = config.get("title", config.get("name", "comparison"))
  (workdir / "comparison.md").write_text(f"# {title}\n\n" + _table(rows, metrics)
                                         + _inspection_section(rows, workdir))
  table = Table(title=title)
  for col in ["variant"] + [f"test {m}" for m in metrics] + ["steps", "seconds"]:
    table.add_column(col)
  for r in rows:
    table.add_row(r["variant"], *[_fmt(r["test"].get(m)) for m in metrics],
                  str(r["step"]), f"{r['seconds']:.0f}")
  console.print(table)
  return {"status": "finished", "step": sum(max(r["step"], 0) for r in rows),
          "test": {f"{r['variant']}/{m}": r["test"].get(m) for r in rows for m in metrics}}


def evaluate(config, workdir, split: str = "", which: str = "auto") -> dict:
  return {name: run.evaluate(variant_config(config, name), pathlib.Path(workdir) / name, split,
                             which) for name in config.variants}
