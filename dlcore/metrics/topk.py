"""Top-k accuracy and error rate (curriculum MET-2, MET-17)."""

from __future__ import annotations

import jax.numpy as jnp


def _label_index(outputs: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  if labels.ndim == outputs.ndim:  # one-hot labels
    labels = jnp.argmax(labels, axis=-1)
  return labels.reshape(-1).astype(jnp.int32)


def top_k_correct(outputs: jnp.ndarray, labels: jnp.ndarray, k: int = 5) -> jnp.ndarray:
  """MET-17 per example: 1 if the true class is among the k highest scores, else 0.

  hit_n = [#{j : s_nj > s_n,y_n} < k]; a class tied with the true class's score does not push
  it out (optimistic on ties; with distinct scores this equals sklearn's top_k_accuracy_score).
  Its masked average over a split is the top-k accuracy; k >= K gives 1. Jittable.
  """
  y = _label_index(outputs, labels)
  true_score = jnp.take_along_axis(outputs, y[:, None], axis=-1)
  higher = (outputs > true_score).sum(-1)
  return (higher < k).astype(jnp.float32)


def top_k_error(outputs: jnp.ndarray, labels: jnp.ndarray, k: int = 5) -> jnp.ndarray:
  """MET-17 per example: 1 - top_k_correct (its average is the top-k error rate)."""
  return 1.0 - top_k_correct(outputs, labels, k)
