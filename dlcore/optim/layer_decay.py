"""Layer-wise learning-rate decay for fine-tuning (SCH-6, TL-3): lower layers learn slower.

With L encoder layers found in the parameter paths (`layer_<i>`, i = 0..L−1), the update of a
leaf in layer i is multiplied by decay^(L − i), the embeddings' (paths matching `embed` or
`position_table`) by decay^(L + 1), and everything else (the pooler, the task head) by 1. After
Adam/AdamW this is exactly a per-layer learning rate lr · decay^(depth from the top) (the
decoupled weight decay scales with it, as a per-layer lr would). Built from
`optax.multi_transform` with one `optax.scale` per depth.
"""

from __future__ import annotations

import re

import jax
import optax

from dlcore.optim.freeze import param_path

LAYER = re.compile(r"(?:^|/)layer_(\d+)(?:/|$)")
EMBEDDING = re.compile(r"embed|position_table")


def depth_labels(params) -> dict:
  """'depth<k>' per leaf: k = L − i in layer i, L + 1 for the embeddings, 0 elsewhere."""
  paths = [param_path(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
  layers = [int(m.group(1)) for m in map(LAYER.search, paths) if m]
  top = max(layers) + 1 if layers else 0

  def label(path, _):
    path = param_path(path)
    m = LAYER.search(path)
    if m:
      return f"depth{top - int(m.group(1))}"
    return f"depth{top + 1}" if EMBEDDING.search(path) else "depth0"

  return jax.tree_util.tree_map_with_path(label, params)


def layer_decay(tx: optax.GradientTransformation, decay: float,
                max_depth: int = 64) -> optax.GradientTransformation:
  """`tx`, then each leaf's update scaled by decay^depth (module docstring); off for decay 1."""
  if decay == 1.0:
    return tx
  scales = {f"depth{k}": optax.scale(decay ** k) for k in range(max_depth + 2)}
  return optax.chain(tx, optax.multi_transform(scales, depth_labels))
