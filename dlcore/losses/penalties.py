"""Weight penalties and loss combination (curriculum LOSS-12, LOSS-13, LOSS-14)."""

from __future__ import annotations

import re
from typing import Callable, Mapping

import jax
import jax.numpy as jnp

LeafFilter = Callable[[str, jnp.ndarray], bool]


def skip_biases(path: str, leaf: jnp.ndarray) -> bool:
  """Default filter: penalise every leaf except those named 'bias' (Flax) or 'b'."""
  names = re.findall(r"\w+", path)
  return not names or names[-1] not in ("bias", "b")


def _leaves(params, include: LeafFilter | None):
  include = skip_biases if include is None else include
  flat, _ = jax.tree_util.tree_flatten_with_path(params)
  return [leaf for path, leaf in flat if include(jax.tree_util.keystr(path), leaf)]


def l2_penalty(params, lam: float, num_examples: int, *,
               include: LeafFilter | None = None) -> jnp.ndarray:
  """LOSS-13 weight decay (lambda / 2m) sum_l ||W_l||_F^2 over the filtered leaves (000 §1.6.1).

  Its gradient adds (lambda / m) W. `include(path, leaf)` picks leaves (default: not biases).
  """
  total = sum(jnp.sum(jnp.square(w)) for w in _leaves(params, include))
  return lam / (2.0 * num_examples) * total


def l1_penalty(params, lam: float, num_examples: int, *,
               include: LeafFilter | None = None) -> jnp.ndarray:
  """LOSS-14 L1 penalty (lambda / m) sum |w| over the filtered leaves (004 §3.3.2)."""
  total = sum(jnp.sum(jnp.abs(w)) for w in _leaves(params, include))
  return lam / num_examples * total


def weighted_sum(losses: Mapping[str, tuple[float, jnp.ndarray]]) -> jnp.ndarray:
  """LOSS-12 L_total = lambda_1 L_1 + ... + lambda_k L_k for {name: (lambda_k, L_k)}."""
  if not losses:
    raise ValueError("weighted_sum needs at least one (weight, value) term")
  return sum(weight * value for weight, value in losses.values())
