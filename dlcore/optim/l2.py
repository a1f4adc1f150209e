"""Coupled L2 regularisation (REG-1, LOSS-13) and the weight-decay parameter mask."""

from __future__ import annotations

import re
from typing import Callable

import jax
import optax

from dlcore.errors import ConfigError
from dlcore.optim.freeze import param_path


def no_bias_mask(params) -> object:
  """True for parameters that are decayed: every leaf with ndim ≥ 2 (kernels, embeddings);
  biases and norm scales (ndim ≤ 1) are False."""
  return jax.tree.map(lambda p: getattr(p, "ndim", 0) >= 2, params)


def decay_mask(kind: str) -> Callable | None:
  """`'no_bias'` -> `no_bias_mask`; `'all'` -> None (decay every leaf); `'re:<regex>'` -> the
  `no_bias_mask` leaves whose path ('conv_0/kernel') the regex `re.search`-matches (GCN's L2 on
  the first layer only: 're:^conv_0/')."""
  if kind == "no_bias":
    return no_bias_mask
  if kind == "all":
    return None
  if isinstance(kind, str) and kind.startswith("re:"):
    try:
      regex = re.compile(kind[3:])
    except re.error as e:
      raise ConfigError(f"weight_decay_mask {kind!r} is not a valid regex ({e}).") from None
    return lambda params: jax.tree_util.tree_map_with_path(
        lambda path, p: getattr(p, "ndim", 0) >= 2 and bool(regex.search(param_path(path))),
        params)
  raise ConfigError(f"Unknown weight_decay_mask {kind!r}; use 'no_bias', 'all' or "
                    f"'re:<regex on parameter paths>'.")


def l2_coupled(lam: float, num_examples: int = 1,
               mask: Callable | None = no_bias_mask) -> optax.GradientTransformation:
  """REG-1/LOSS-13 coupled L2: g ← g + (λ/m) W, the gradient of (λ/2m) Σ_l ||W_l||²_F.

  Put it *before* the optimizer, so (unlike AdamW) the penalty goes through momentum/Adam
  moments exactly as if it were part of the loss. m = `num_examples` (the seeds' m; with a
  mean-reduced loss use the batch size to reproduce 000 §1.6.1, or 1 for λ·W).
  """
  return optax.add_decayed_weights(lam / num_examples, mask=mask)
