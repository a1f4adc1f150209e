"""Training curves from metrics.jsonl (curriculum MET-20)."""

from __future__ import annotations

import math
import pathlib
from typing import Iterable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SPLIT_STYLE = {"train": "-", "eval": "-o", "validation": "-o", "test": "*"}


def _series(events: Iterable[dict], split: str, metric: str) -> tuple[list, list]:
  xs, ys = [], []
  for e in events:
    v = e.get(metric)
    if e.get("split") == split and isinstance(v, (int, float)) and math.isfinite(v):
      xs.append(e["step"])
      ys.append(v)
  return xs, ys


def plot_curves(events: Sequence[dict], out_dir: str | pathlib.Path,
                metrics: Sequence[str] = ("loss", "accuracy"),
                title: str = "") -> list[pathlib.Path]:
  """One PNG per metric (`<out_dir>/<metric>.png`) with a line per split."""
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  written = []
  for metric in metrics:
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    splits = list(dict.fromkeys([*SPLIT_STYLE, *(e.get("split") for e in events)]))
    for split in splits:
      style = SPLIT_STYLE.get(split, "-o")
      xs, ys = _series(events, split, metric)
      if xs:
        ax.plot(xs, ys, style, label=split, markersize=4 if split != "test" else 10)
        drawn = True
    if not drawn:
      plt.close(fig)
      continue
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.set_title(f"{title} {metric}".strip())
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out_dir / f"{metric.replace('/', '_')}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
  return written


def plot_comparison(runs: Mapping[str, Sequence[dict]], out_path: str | pathlib.Path,
                    metric: str, splits: Sequence[str] = ("train", "eval"),
                    title: str = "") -> pathlib.Path:
  """Overlay `metric` of several runs (one colour per run, one line style per split)."""
  out_path = pathlib.Path(out_path)
  out_path.parent.mkdir(parents=True, exist_ok=True)
  fig, ax = plt.subplots(figsize=(7, 4.5))
  for i, (name, events) in enumerate(runs.items()):
    color = f"C{i}"
    for split in splits:
      xs, ys = _series(events, split, metric)
      if xs:
        ax.plot(xs, ys, "-" if split == "train" else "--o", color=color, markersize=3,
                label=f"{name} ({split})", alpha=0.6 if split == "train" else 1.0)
  ax.set_xlabel("step")
  ax.set_ylabel(metric)
  ax.set_title(title or metric)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(out_path, dpi=110)
  plt.close(fig)
  return out_path


def plot_weight_histograms(params_by_run: Mapping[str, object], out_path: str | pathlib.Path,
                           title: str = "", bins: int = 100) -> pathlib.Path:
  """Histogram of every kernel weight (leaves named 'kernel') of each run, overlaid
  (exercise 002 §11.2.6: how dropout changes the weight distribution)."""
  import jax
  import numpy as np
  out_path = pathlib.Path(out_path)
  out_path.parent.mkdir(parents=True, exist_ok=True)
  fig, ax = plt.subplots(figsize=(7, 4.5))
  for i, (name, params) in enumerate(params_by_run.items()):
    leaves = [np.ravel(np.asarray(leaf)) for path, leaf in
              jax.tree_util.tree_flatten_with_path(params)[0]
              if getattr(path[-1], "key", None) == "kernel"]
    w = np.concatenate(leaves) if leaves else np.zeros(0)
    ax.hist(w, bins=bins, histtype="step", density=True, color=f"C{i}",
            label=f"{name} (std {w.std():.3f}, max |w| {np.abs(w).max() if w.size else 0:.2f})")
  ax.set_xlabel("weight value")
  ax.set_ylabel("density")
  ax.set_title(title or "kernel weights")
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(out_path, dpi=110)
  plt.close(fig)
  return out_path
