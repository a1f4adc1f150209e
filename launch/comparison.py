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

With `parallel` = N > 1 (default 1: one variant after the other, in this process), up to N
variants train at once, each in its own process on this machine (`python -m launch.comparison
<workdir>/<variant>`, with this process's environment): it trains the variant config written to
`<variant>/variant_config.json`, exactly as the sequential path would, writes the result to
`<variant>/result.json` and its output to `<variant>/stdout.log`. A variant whose process fails
gets a row noting its exit code (the others still run); `weight_histograms` needs parallel=1.
The processes share this machine's cores and accelerators: on a CPU machine N processes split
the cores, on an accelerator each one allocates its own memory. SIGTERM/SIGINT reach every
variant, which saves a checkpoint; rerunning the same command resumes each of them.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import ml_collections
from rich.table import Table

import jax

from dlcore.config import REPO_ROOT
from dlcore.errors import ConfigError, DlcoreError, NonFiniteLossError
from dlcore.registry import closest
from dlcore.train.loop import make_console, write_config
from dlcore.train.metric_logger import read_metrics
from dlcore.train.signals import stop_on_signals
from dlcore.train.workdir import prepare_workdir
from dlcore.viz.curves import plot_comparison, plot_weight_histograms
from launch import cli, run

COMPARISON_KEYS = ("variants", "base_experiment", "report_train_split", "weight_histograms",
                   "report_per_class", "title", "parallel")
DIVERGED = "diverged (NaN/Inf loss)"
# The files of a variant trained in its own process (parallel > 1).
VARIANT_CONFIG, RESULT, LOG = "variant_config.json", "result.json", "stdout.log"


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


def _row(config, name: str, cfg, workdir: pathlib.Path, result: dict, seconds: float,
         note: str = "") -> dict:
  """The comparison.md row of variant `name`: from its finished `result`, or (with a `note`
  such as 'diverged ...') an empty row."""
  if note:
    return {"variant": name, "test": {}, "step": -1, "seconds": seconds, "note": note}
  row = {"variant": name, "test": result["test"], "step": result["step"], "seconds": seconds,
         "note": "", "inspect": result.get("inspect", {})}
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
  return row


def _report(config, workdir: pathlib.Path, rows: list[dict], weights: dict, console) -> dict:
  """comparison.md, the overlay plots and the console table of `rows`; the comparison's result."""
  runs = {r["variant"]: read_metrics(workdir / r["variant"] / "metrics.jsonl") for r in rows}
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
  for col in ["variant"] + [f"test {m}" for m in metrics] + ["steps", "seconds", "note"]:
    table.add_column(col)
  for r in rows:
    table.add_row(r["variant"], *[_fmt(r["test"].get(m)) for m in metrics],
                  str(r["step"]), f"{r['seconds']:.0f}", r.get("note", ""))
  console.print(table)
  return {"status": "finished", "step": sum(max(r["step"], 0) for r in rows),
          "test": {f"{r['variant']}/{m}": r["test"].get(m) for r in rows for m in metrics}}


def _parallel(config) -> int:
  parallel = config.get("parallel", 1)
  if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
    raise ConfigError(f"parallel must be an integer >= 1 (the number of variants trained at "
                      f"once), got {parallel!r}.")
  if parallel > 1 and config.get("weight_histograms", False):
    raise ConfigError("weight_histograms needs the final states in this process; set "
                      "parallel=1 (or drop weight_histograms).")
  return parallel


def _stopped(name: str, result: dict, console) -> dict:
  console.print(f"stopped during variant {name!r}; rerun the same command to resume.")
  return {"status": result.get("status"), "step": result.get("step", 0), "test": {}}


def train(config, workdir) -> dict:
  console = make_console()
  parallel = _parallel(config)
  workdir = prepare_workdir(workdir)
  write_config(config, workdir)
  configs = {name: variant_config(config, name) for name in config.variants}  # validate first
  if parallel > 1:
    return _train_in_processes(config, workdir, configs, parallel, console)
  rows, weights = [], {}
  for name, cfg in configs.items():
    console.rule(f"variant {name}")
    start = time.time()
    try:
      state, result = run.train_with_state(cfg, workdir / name)
    except NonFiniteLossError as e:
      console.print(f"variant {name!r} diverged: {e}")
      rows.append(_row(config, name, cfg, workdir, {}, time.time() - start, DIVERGED))
      continue
    if result.get("status") != "finished":
      return _stopped(name, result, console)
    rows.append(_row(config, name, cfg, workdir, result, time.time() - start))
    if config.get("weight_histograms", False):
      weights[name] = jax.device_get(state.eval_params())
  return _report(config, workdir, rows, weights, console)


def _write_variant(name: str, cfg, workdir: pathlib.Path) -> None:
  """`<workdir>/<name>/variant_config.json` for the process of variant `name`."""
  vdir = prepare_workdir(workdir / name)
  try:
    text = cfg.to_json(indent=2, sort_keys=True)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"variant {name!r} has a config value JSON cannot hold ({e}); set "
                      f"parallel=1.") from None
  (vdir / VARIANT_CONFIG).write_text(text + "\n")
  (vdir / RESULT).unlink(missing_ok=True)  # never read a previous launch's result


def _start_child(vdir: pathlib.Path, env: dict) -> subprocess.Popen:
  """`python -m launch.comparison <vdir>`, its output in `<vdir>/stdout.log`."""
  with open(vdir / LOG, "w") as log:
    return subprocess.Popen([sys.executable, "-m", "launch.comparison", str(vdir)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _child_outcome(name: str, vdir: pathlib.Path, code: int) -> tuple[dict, str]:
  """(result, row note) of a finished child: note '' for a finished variant."""
  result = json.loads((vdir / RESULT).read_text()) if (vdir / RESULT).is_file() else {}
  if code != 0 or not result:
    return result, f"failed (exit code {code}, see {name}/{LOG})"
  return result, DIVERGED if result.get("status") == "diverged" else ""


def _train_in_processes(config, workdir: pathlib.Path, configs: dict, parallel: int,
                        console) -> dict:
  """train() with up to `parallel` variants at once, each in its own process (module doc)."""
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p))
  for name, cfg in configs.items():  # all of them first: a config JSON cannot hold fails now
    _write_variant(name, cfg, workdir)
  pending, running, outcomes = list(configs), {}, {}
  forwarded = False
  with stop_on_signals() as stop:
    try:
      while pending or running:
        while pending and len(running) < parallel and not stop.requested:
          name = pending.pop(0)
          running[name] = (_start_child(workdir / name, env), time.time())
          console.print(f"started variant {name} (pid {running[name][0].pid}, log "
                        f"{workdir / name / LOG})")
        if stop.requested and not forwarded:  # let every running variant save a checkpoint
          pending, forwarded = [], True
          for proc, _ in running.values():
            proc.send_signal(signal.SIGTERM)
        for name, (proc, start) in list(running.items()):
          if proc.poll() is not None:
            del running[name]
            result, note = _child_outcome(name, workdir / name, proc.returncode)
            outcomes[name] = (result, note, time.time() - start)
            console.print(f"variant {name}: {note or result.get('status')} "
                          f"({outcomes[name][2]:.0f} s)")
        time.sleep(0.1)
    finally:
      for proc, _ in running.values():  # an error here: do not leave children behind
        proc.terminate()
        proc.wait()
  if stop.requested:
    console.print(f"{stop.signal_name} received: the running variants saved a checkpoint; rerun "
                  f"the same command to resume.")
    return {"status": "interrupted", "step": 0, "test": {}}
  for name, (result, note, _) in outcomes.items():
    if not note and result.get("status") != "finished":  # e.g. that process got a SIGTERM
      return _stopped(name, result, console)
  rows = [_row(config, n, configs[n], workdir, outcomes[n][0], outcomes[n][2], outcomes[n][1])
          for n in configs]
  return _report(config, workdir, rows, {}, console)


def evaluate(config, workdir, split: str = "", which: str = "auto") -> dict:
  return {name: run.evaluate(variant_config(config, name), pathlib.Path(workdir) / name, split,
                             which) for name in config.variants}


def _jsonable(value):
  return os.fspath(value) if isinstance(value, os.PathLike) else (
      value.tolist() if hasattr(value, "tolist") else float(value))


def _train_variant(vdir: pathlib.Path) -> None:
  """The process of one variant (parallel > 1): train `<vdir>/variant_config.json` in `vdir`
  and write the result (status 'diverged' on a NaN/Inf loss) to `<vdir>/result.json`."""
  path = vdir / VARIANT_CONFIG
  if not path.is_file():
    raise ConfigError(f"{path} not found; launch.comparison trains the variants that a "
                      f"comparison with parallel > 1 writes there.")
  cfg = ml_collections.ConfigDict(json.loads(path.read_text()))
  with cli.hold_workdir(vdir):
    try:
      result = run.train(cfg, vdir)
    except NonFiniteLossError as e:
      print(f"variant diverged: {e}", flush=True)
      result = {"status": "diverged", "step": -1, "test": {}}
  text = json.dumps(result, default=_jsonable)
  (vdir / RESULT).write_text(text + "\n")
  print(text, flush=True)


if __name__ == "__main__":
  if len(sys.argv) != 2:
    cli.fail("usage: python -m launch.comparison <workdir>/<variant> (started by a comparison "
             "with parallel > 1)")
  cli.quiet_libraries()
  try:
    _train_variant(pathlib.Path(sys.argv[1]))
  except DlcoreError as e:
    cli.fail(str(e))
