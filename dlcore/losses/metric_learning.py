"""Metric-learning losses: contrastive pairs and triplets with mining (curriculum LOSS-8, LOSS-9).

Distances are Euclidean, d(a, b) = ||a - b||_2 (set squared=True for ||a - b||^2); the square
root is made safe at 0 so gradients stay finite for identical embeddings.
"""

from __future__ import annotations

import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.losses.base import LOSSES, finish

MINING = ("batch_all", "batch_hard", "semi_hard")


def _safe_sqrt(x):
  positive = x > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


def pairwise_distances(embeddings: jnp.ndarray, squared: bool = False) -> jnp.ndarray:
  """D[i, j] = ||e_i - e_j|| for a batch of embeddings (B, D) -> (B, B); D[i, i] = 0."""
  diff = embeddings[:, None, :] - embeddings[None, :, :]
  d2 = jnp.sum(diff * diff, axis=-1)
  return d2 if squared else _safe_sqrt(d2)


def contrastive_loss(x1: jnp.ndarray, x2: jnp.ndarray, similar: jnp.ndarray, *,
                     margin: float = 1.0, weights=None, mask=None,
                     reduction: str = "none") -> jnp.ndarray:
  """LOSS-8 pairwise contrastive loss, d = ||x1 - x2||:

  0.5 d^2 if y = 1 (similar pair), 0.5 max(0, margin - d)^2 if y = 0 (002 §2.6.3 eq.28).
  """
  x1 = jnp.asarray(x1)
  d2 = jnp.sum((x1 - jnp.asarray(x2, x1.dtype))**2, axis=-1)
  d = _safe_sqrt(d2)
  y = jnp.asarray(similar).astype(x1.dtype)
  values = 0.5 * (y * d2 + (1 - y) * jnp.maximum(margin - d, 0.0)**2)
  return finish(values, weights, mask, reduction)


@LOSSES.register("triplet")
def triplet_loss(embeddings: jnp.ndarray, labels: jnp.ndarray, *, margin: float = 1.0,
                 mining: str = "batch_hard", squared: bool = False, weights=None, mask=None,
                 reduction: str = "none") -> jnp.ndarray:
  """LOSS-9 triplet loss max(0, d(a,p) - d(a,n) + margin), one value per anchor of a batch.

  Positives share the anchor's label (p != a), negatives do not. `mining`:
    batch_hard  hardest positive (max d(a,p)) and hardest negative (min d(a,n)) per anchor;
    batch_all   mean over all the anchor's (p, n) triplets;
    semi_hard   per (a, p) the closest negative farther than p (d(a,n) > d(a,p)), else the
                farthest negative (FaceNet / tfa); mean over the anchor's positives.
  Anchors without a positive or a negative give 0 and are left out of the mean.
  """
  if mining not in MINING:
    raise ConfigError(f"Unknown triplet mining {mining!r}; use one of {', '.join(MINING)}.")
  e = jnp.asarray(embeddings)
  labels = jnp.asarray(labels)
  d = pairwise_distances(e, squared)
  n = e.shape[0]
  same = labels[:, None] == labels[None, :]
  pos = same & ~jnp.eye(n, dtype=bool)
  neg = ~same
  valid = pos.any(axis=1) & neg.any(axis=1)
  if mining == "batch_hard":
    hardest_pos = jnp.where(pos, d, 0.0).max(axis=1)
    hardest_neg = jnp.where(neg, d, jnp.inf).min(axis=1)
    values = jnp.maximum(hardest_pos - jnp.where(valid, hardest_neg, hardest_pos) + margin, 0)
  elif mining == "batch_all":
    t = d[:, :, None] - d[:, None, :] + margin  # [a, p, n]
    ok = pos[:, :, None] & neg[:, None, :]
    total = jnp.where(ok, jnp.maximum(t, 0.0), 0.0).sum(axis=(1, 2))
    values = total / jnp.maximum(ok.sum(axis=(1, 2)), 1)
  else:
    d_ap = d[:, :, None]  # [a, p, 1]
    d_an = d[:, None, :]  # [a, 1, n]
    outside = neg[:, None, :] & (d_an > d_ap)
    closest_outside = jnp.where(outside, d_an, jnp.inf).min(axis=2)
    farthest = jnp.where(neg, d, -jnp.inf).max(axis=1)[:, None]
    chosen = jnp.where(outside.any(axis=2), closest_outside, farthest)
    chosen = jnp.where(pos & valid[:, None], chosen, 0.0)
    pair = jnp.where(pos & valid[:, None], jnp.maximum(d - chosen + margin, 0.0), 0.0)
    values = pair.sum(axis=1) / jnp.maximum(pos.sum(axis=1), 1)
  values = jnp.where(valid, values, 0.0)
  mask = valid if mask is None else jnp.asarray(mask) * valid
  return finish(values, weights, mask, reduction)
