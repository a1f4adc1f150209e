"""Attention heatmaps (LAY-27/28, ROB-5): α_ij of each output token i (rows) over the source
tokens j (columns) of one translated sentence, or of each query over the keys of one
self-attention head (`axes`, `title`), as a PNG."""

from __future__ import annotations

import pathlib
from typing import Sequence

import numpy as np


def plot_attention(weights: np.ndarray, source: Sequence[str], output: Sequence[str],
                   path: str | pathlib.Path, axes: tuple[str, str] = ("source", "output"),
                   title: str = "") -> pathlib.Path:
  """Writes the (len(output), len(source)) weights as a heatmap with token labels."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  weights = np.asarray(weights, np.float32)
  rows, cols = weights.shape
  fig, ax = plt.subplots(figsize=(max(3.0, 0.45 * cols + 1.5), max(2.5, 0.4 * rows + 1.2)))
  im = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
  ax.set_xticks(range(cols), list(source)[:cols], rotation=60, ha="right", fontsize=8)
  ax.set_yticks(range(rows), list(output)[:rows], fontsize=8)
  ax.set_xlabel(axes[0])
  ax.set_ylabel(axes[1])
  if title:
    ax.set_title(title, fontsize=9)
  fig.colorbar(im, ax=ax, fraction=0.04)
  fig.tight_layout()
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path
