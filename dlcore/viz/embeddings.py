"""2-D pictures of learned embeddings (node embeddings of DeepWalk / node2vec, a GNN's hidden
layer, word vectors), one point per item coloured by its class.

Projection `method`: 'tsne' (scikit-learn's t-SNE, perplexity 30, PCA initialisation: keeps
neighbourhoods, seconds for a few thousand points) or 'pca' (the top two principal axes:
instant, keeps global directions).
"""

from __future__ import annotations

import pathlib
from typing import Sequence

import matplotlib
import numpy as np

from dlcore.errors import ConfigError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METHODS = ("tsne", "pca")


def project_2d(points: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
  """[N, d] -> [N, 2] by t-SNE or PCA."""
  points = np.asarray(points, np.float64)
  if method == "pca":
    centred = points - points.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T
  if method == "tsne":
    from sklearn.manifold import TSNE
    return TSNE(2, perplexity=min(30.0, max(1.0, (len(points) - 1) / 3)), init="pca",
                random_state=seed).fit_transform(points)
  raise ConfigError(f"plot method={method!r}; valid: {', '.join(METHODS)}.")


def plot_embeddings(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                    out_path: str | pathlib.Path, title: str = "") -> pathlib.Path:
  """Scatter of the 2-D `points`, coloured by `labels`, with a legend of `class_names`."""
  out_path = pathlib.Path(out_path)
  out_path.parent.mkdir(parents=True, exist_ok=True)
  fig, ax = plt.subplots(figsize=(7.5, 6.5))
  colours = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
  for k, name in enumerate(class_names):
    chosen = labels == k
    ax.scatter(points[chosen, 0], points[chosen, 1], s=6, color=colours(k % colours.N),
               label=f"{name} ({int(chosen.sum())})", alpha=0.8, linewidths=0)
  ax.legend(fontsize=7, markerscale=2.5, loc="best")
  ax.set_xticks([])
  ax.set_yticks([])
  ax.set_title(title)
  fig.tight_layout()
  fig.savefig(out_path, dpi=110)
  plt.close(fig)
  return out_path
