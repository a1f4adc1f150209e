"""Model summary: parameter counts per layer (curriculum MET-18)."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from rich.table import Table

from dlcore.nn.conv import count_params  # noqa: F401  (re-exported: one parameter counter)


def per_layer(params: Any) -> list[tuple[str, list[str], int]]:
  """[(layer path, ['kernel (4, 8)', ...], count)] grouped by the module that owns the leaves."""
  rows: dict[str, tuple[list[str], int]] = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    keys = [getattr(k, "key", getattr(k, "name", str(k))) for k in path]
    layer, name = "/".join(map(str, keys[:-1])) or "(root)", str(keys[-1])
    shapes, n = rows.get(layer, ([], 0))
    rows[layer] = (shapes + [f"{name} {tuple(leaf.shape)}"], n + int(np.prod(leaf.shape)))
  return [(k, v[0], v[1]) for k, v in rows.items()]


def summary_table(params: Any, model_state: Any = None, title: str = "model") -> Table:
  table = Table(title=f"{title}: {count_params(params):,} parameters", show_lines=False)
  table.add_column("layer")
  table.add_column("shapes")
  table.add_column("params", justify="right")
  for layer, shapes, n in per_layer(params):
    table.add_row(layer, ", ".join(shapes), f"{n:,}")
  if model_state:
    n = count_params(model_state)
    table.add_row("[dim](non-trainable state)[/dim]", "", f"[dim]{n:,}[/dim]")
  return table
