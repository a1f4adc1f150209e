"""Classification metric counts (curriculum MET-2)."""

from __future__ import annotations

import jax.numpy as jnp


def predicted_class(outputs: jnp.ndarray) -> jnp.ndarray:
  """argmax over classes; a single logit (shape (B,) or (B, 1)) is thresholded at 0 (p=0.5)."""
  if outputs.ndim == 1 or outputs.shape[-1] == 1:
    return (outputs.reshape(outputs.shape[0]) > 0).astype(jnp.int32)
  return jnp.argmax(outputs, axis=-1).astype(jnp.int32)


def accuracy_counts(outputs: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  """MET-2: 1.0 where the predicted class equals the label, else 0.0 (per example)."""
  if labels.ndim == outputs.ndim and outputs.shape[-1] > 1:  # one-hot labels
    labels = jnp.argmax(labels, axis=-1)
  return (predicted_class(outputs) == labels.reshape(-1).astype(jnp.int32)).astype(jnp.float32)
