"""Shared pieces of the mergeable metrics: a mask helper and merge-by-addition.

Every metric here is a pytree of sufficient statistics (sums, counts, histograms). `merge` adds
them field by field, so the figure of an epoch merged from batches (or devices) equals the figure
computed on the whole split at once.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def weights(mask: jnp.ndarray | None, n: int) -> jnp.ndarray:
  """The per-example weight vector (float32, shape (n,)): 1 for valid rows, 0 for padding."""
  if mask is None:
    return jnp.ones((n,), jnp.float32)
  return jnp.asarray(mask).reshape(n).astype(jnp.float32)


def safe_div(num, den) -> np.ndarray:
  """num / den on the host in float64, with 0 where den == 0 (the sklearn zero_division=0)."""
  num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
  return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


class Additive:
  """Mixin for flax.struct dataclasses whose fields are sums: merge is leafwise addition."""

  def merge(self, other):
    """Sum of the statistics of two disjoint parts of a split (associative, commutative)."""
    return jax.tree_util.tree_map(lambda a, b: a + b, self, other)
