"""Freezing parameter subtrees by path regex for fine-tuning (SCH-6, TL-1)."""

from __future__ import annotations

import re
from typing import Sequence

import jax
import optax


def param_path(path) -> str:
  """'Dense_0/kernel' for a `jax.tree_util` key path (dict keys, attributes, indices)."""
  parts = []
  for k in path:
    for attr in ("key", "name", "idx"):
      if hasattr(k, attr):
        parts.append(str(getattr(k, attr)))
        break
    else:
      parts.append(str(k))
  return "/".join(parts)


def freeze_labels(params, patterns: Sequence[str]):
  """'frozen' where any regex in `patterns` `re.search`-matches the leaf's path, else 'train'."""
  regexes = [re.compile(p) for p in patterns]
  return jax.tree_util.tree_map_with_path(
      lambda path, _: "frozen" if any(r.search(param_path(path)) for r in regexes) else "train",
      params)


def freeze(tx: optax.GradientTransformation,
           patterns: Sequence[str]) -> optax.GradientTransformation:
  """SCH-6: update = 0 on leaves whose path matches `patterns` (θ_frozen stays bit-identical);
  `tx` runs only on the others (no optimizer state is kept for frozen leaves)."""
  if not patterns:
    return tx
  return optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()},
                               lambda params: freeze_labels(params, tuple(patterns)))
