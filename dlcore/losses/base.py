"""Loss registry and the shared reduction (curriculum §0 item 4: sum or mean)."""

from __future__ import annotations

import chex
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
  if reduction not in REDUCTIONS:
    raise ConfigError(f"Unknown reduction {reduction!r}; use one of {', '.join(REDUCTIONS)}.")
  if mask is None:
    mask = jnp.ones(values.shape[:1], values.dtype)
  mask = jnp.asarray(mask)
  mask = mask.reshape(mask.shape + (1,) * (values.ndim - mask.ndim)).astype(values.dtype)
  weighted = values * mask
  if reduction == "none":
    return weighted
  if reduction == "sum":
    return weighted.sum()
  count = jnp.broadcast_to(mask, values.shape).sum()
  return weighted.sum() / jnp.maximum(count, 1e-12)


def finish(values: jnp.ndarray, weights=None, mask=None, reduction: str = "none") -> jnp.ndarray:
  """Apply per-example `weights` and `mask` (multiplied into one factor) and `reduction`.

  With reduction='mean' the result is sum(w*m*values) / sum(w*m): a weighted mean, and masked
  (m = 0) examples change neither the numerator nor the count (§0 item 4).
  """
  factor = None
  for f in (weights, mask):
    if f is not None:
      f = jnp.asarray(f, values.dtype)
      factor = f if factor is None else factor * f
  return reduce_loss(values, factor, reduction)


def per_example(values: jnp.ndarray) -> jnp.ndarray:
  """Mean over every axis after the first (B, ...) -> (B,); a 1-D input is returned as is."""
  return values.reshape(values.shape[0], -1).mean(axis=-1) if values.ndim > 1 else values


def assert_same_shape(fn: str, outputs: jnp.ndarray, targets: jnp.ndarray) -> None:
  """Entry check (trace time, chex): elementwise losses need outputs and targets of one shape.

  Called after `squeeze_output`, so (B, 1) outputs with (B,) targets pass; (B,) with (B, 1)
  would broadcast to (B, B) and is rejected.
  """
  chex.assert_equal_shape([outputs, targets], custom_message=(
      f"{fn}: outputs (input 0) and targets (input 1) must have the same shape (a trailing "
      f"output axis of size 1 is dropped first); broadcasting them would silently compare "
      f"every output with every target"))


def squeeze_output(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  """Drop a trailing singleton output axis, (B, 1) -> (B,), when targets are (B,)."""
  if outputs.ndim == targets.ndim + 1 and outputs.shape[-1] == 1:
    return outputs[..., 0]
  return outputs
