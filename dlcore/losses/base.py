"""Loss registry and the shared reduction (curriculum §0 item 4: sum or mean)."""

from __future__ import annotations

import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.registry import Registry

LOSSES: Registry = Registry("loss")

REDUCTIONS = ("mean", "sum", "none")


def reduce_loss(values: jnp.ndarray, mask: jnp.ndarray | None = None,
                reduction: str = "mean") -> jnp.ndarray:
  """Reduce per-example losses. `mask` (0/1 or weights) removes padding or weights examples.

  mean: sum(mask * values) / sum(mask); sum: sum(mask * values); none: mask * values.
  """
  if mask is None:
    mask = jnp.ones(values.shape[:1], values.dtype)
  mask = mask.reshape(mask.shape + (1,) * (values.ndim - mask.ndim)).astype(values.dtype)
  weighted = values * mask
  if reduction == "none":
    return weighted
  if reduction == "sum":
    return weighted.sum()
  if reduction == "mean":
    count = jnp.broadcast_to(mask, values.shape).sum()
    return weighted.sum() / jnp.maximum(count, 1e-12)
  raise ConfigError(f"Unknown reduction {reduction!r}; use one of {', '.join(REDUCTIONS)}.")
