"""A grid of small images in one PNG (reconstructions, samples, latent traversals).

`images` is [rows, cols, H, W] or [rows, cols, H, W, C] (C = 1 or 3) with values in [0, 1];
`row_labels` name the rows (e.g. 'original' / 'reconstruction', or a latent unit).
"""

from __future__ import annotations

import pathlib
from typing import Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_image_grid(images: np.ndarray, out_path: str | pathlib.Path, title: str = "",
                    row_labels: Sequence[str] = ()) -> pathlib.Path:
  """Write the [rows, cols, H, W(, C)] grid `images` as one PNG; returns its path."""
  images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
  if images.ndim == 5 and images.shape[-1] == 1:
    images = images[..., 0]
  rows, cols = images.shape[:2]
  h, w = images.shape[2:4]
  canvas = np.ones((rows * (h + 1) - 1, cols * (w + 1) - 1) + images.shape[4:], np.float32)
  for r in range(rows):
    for c in range(cols):
      canvas[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = images[r, c]
  out_path = pathlib.Path(out_path)
  out_path.parent.mkdir(parents=True, exist_ok=True)
  fig, ax = plt.subplots(figsize=(max(3.0, 0.45 * cols + 1.2), max(2.0, 0.45 * rows + 0.6)))
  ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0.0, vmax=1.0,
            interpolation="nearest")
  ax.set_xticks([])
  ax.set_yticks([(h + 1) * r + h / 2 for r in range(rows)] if row_labels else [])
  if row_labels:
    ax.set_yticklabels(list(row_labels), fontsize=7)
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(out_path, dpi=110)
  plt.close(fig)
  return out_path
