"""Few-shot adaptation curves (ARC-49): the query MSE against the number of gradient steps taken
on the K support points, one line per method (MAML, first-order MAML, a pretrained baseline)."""

from __future__ import annotations

import pathlib
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_adaptation(curves: Mapping[str, Sequence[float]], out_path: str | pathlib.Path,
                    title: str = "", ylabel: str = "query MSE") -> pathlib.Path:
  out_path = pathlib.Path(out_path)
  out_path.parent.mkdir(parents=True, exist_ok=True)
  fig, ax = plt.subplots(figsize=(6, 4))
  for i, (name, ys) in enumerate(curves.items()):
    ax.plot(range(len(ys)), ys, "-o", color=f"C{i}", markersize=3, label=name)
  ax.set_xlabel("gradient steps on the support set")
  ax.set_ylabel(ylabel)
  ax.set_yscale("log")
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(out_path, dpi=110)
  plt.close(fig)
  return out_path
