"""Confusion-matrix plot (curriculum MET-1 generalised to K classes; project 002 §11.3 error
analysis).

  confusion[t, p] = number of examples of true class t predicted as p     (rows = true class)
  colour          = confusion[t, p] / sum_p confusion[t, p]   (row-normalised: per-class
                    recall on the diagonal; a row with no examples stays 0)

Each cell is annotated with its count (and its row share when normalised) while K <= 30.
"""

from __future__ import annotations

import pathlib
from typing import Any, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MAX_ANNOTATED = 30


def plot_confusion_matrix(confusion: Any, out_path: str | pathlib.Path,
                          class_names: Sequence[str] | None = None,
                          normalize: bool = True) -> pathlib.Path:
  """Write the (K, K) confusion matrix as a heatmap PNG, rows = true class, columns = predicted.

  With `normalize` the colours are row shares in [0, 1]; otherwise raw counts. Returns the path.
  """
  out_path = pathlib.Path(out_path)
  out_path.parent.mkdir(parents=True, exist_ok=True)
  counts = np.asarray(confusion)
  k = counts.shape[0]
  rows = counts.sum(axis=1, keepdims=True)
  shares = np.divide(counts, rows, out=np.zeros(counts.shape, np.float64), where=rows > 0)
  values = shares if normalize else counts.astype(np.float64)
  names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
  size = min(2.0 + 0.45 * k, 16.0)
  fig, ax = plt.subplots(figsize=(size + 1.0, size))
  shown = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
  fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
  if k <= MAX_ANNOTATED:
    top = values.max() if values.size else 0.0
    for t in range(k):
      for p in range(k):
        text = f"{counts[t, p]:g}" + (f"\n{shares[t, p]:.0%}" if normalize else "")
        ax.text(p, t, text, ha="center", va="center", fontsize=7,
                color="white" if values[t, p] > 0.5 * top else "black")
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
  ax.set_xlabel("predicted class")
  ax.set_ylabel("true class")
  total = counts.sum()
  accuracy = np.trace(counts) / total if total > 0 else 0.0
  ax.set_title(f"confusion matrix (accuracy {accuracy:.2%}, n={total:g})")
  fig.tight_layout()
  fig.savefig(out_path, dpi=100)
  plt.close(fig)
  return out_path
