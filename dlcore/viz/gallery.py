"""Error-case gallery (project 002 §11.3 "analyse error cases"; curriculum REG-9).

  misclassified = { i : predictions[i] != labels[i] }, ordered by confidence descending when
                  probabilities are given (confidence = probabilities[i, predictions[i]] for a
                  (N, K) array, or probabilities[i] for an (N,) array; ties keep index order),
                  else by index; at most `max_items`.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any, Sequence

import matplotlib
import numpy as np

from dlcore.viz.feature_maps import to_display

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _confidence(probabilities: Any, predictions: np.ndarray) -> np.ndarray:
  probs = np.asarray(probabilities, dtype=np.float64)
  if probs.ndim == 2:
    return probs[np.arange(len(predictions)), predictions]
  return probs


def misclassified(labels: Any, predictions: Any, probabilities: Any | None = None,
                  max_items: int = 25) -> np.ndarray:
  """Indices of wrong predictions: the most confident mistakes first when `probabilities`
  ((N, K) class probabilities or (N,) confidence of the prediction) are given."""
  labels = np.asarray(labels).reshape(-1)
  predictions = np.asarray(predictions).reshape(-1)
  wrong = np.flatnonzero(labels != predictions)
  if probabilities is not None:
    conf = _confidence(probabilities, predictions)[wrong]
    wrong = wrong[np.argsort(-conf, kind="stable")]
  return wrong[:max_items]


def plot_error_gallery(images: Any, labels: Any, predictions: Any,
                       out_path: str | pathlib.Path, probabilities: Any | None = None,
                       class_names: Sequence[str] | None = None,
                       max_items: int = 25) -> pathlib.Path:
  """A grid of the `misclassified` images, each titled "true 7 / pred 1 (0.93)" (the
  confidence only when probabilities are given). Writes a note when nothing is wrong."""
  out_path = pathlib.Path(out_path)
  out_path.parent.mkdir(parents=True, exist_ok=True)
  labels = np.asarray(labels).reshape(-1)
  predictions = np.asarray(predictions).reshape(-1)
  idx = misclassified(labels, predictions, probabilities, max_items)
  conf = _confidence(probabilities, predictions) if probabilities is not None else None
  name = (lambda c: str(class_names[c])) if class_names is not None else str
  cols = max(1, min(5, len(idx)))
  rows = max(1, math.ceil(len(idx) / cols))
  fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.2 * rows), squeeze=False)
  for ax, i in zip(axes.flat, idx):
    img, cmap = to_display(np.asarray(images[i]))
    ax.imshow(img, cmap=cmap)
    title = f"true {name(labels[i])} / pred {name(predictions[i])}"
    if conf is not None:
      title += f" ({conf[i]:.2f})"
    ax.set_title(title, fontsize=7)
  for ax in axes.flat:
    ax.axis("off")
  if len(idx) == 0:
    axes[0, 0].text(0.5, 0.5, "no misclassified examples", ha="center", va="center")
  fig.suptitle(f"{len(idx)} of {int((labels != predictions).sum())} errors", fontsize=9)
  fig.tight_layout()
  fig.savefig(out_path, dpi=90)
  plt.close(fig)
  return out_path
