"""Classification losses (curriculum LOSS-4, LOSS-5)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from dlcore.losses.base import LOSSES


@LOSSES.register("cross_entropy")
def softmax_cross_entropy(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  """LOSS-5 categorical cross-entropy from logits: -sum_c y_c log softmax(z)_c, per example.

  `labels` are integer class ids of shape logits.shape[:-1], or one-hot/soft targets of the
  same shape as `logits`. Computed with a stable log-softmax (ACT-10).
  """
  if labels.ndim == logits.ndim:
    return optax.softmax_cross_entropy(logits, labels)
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels.astype(jnp.int32))


@LOSSES.register("binary_cross_entropy")
def binary_cross_entropy_with_logits(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  """LOSS-4 binary cross-entropy from a logit z: -[y log s(z) + (1-y) log(1-s(z))], per example.

  Uses the stable form max(z,0) - z*y + log(1+exp(-|z|)); equal to the seeds' clipped BCE on
  probabilities wherever their clip (1e-15) is inactive, and its gradient in z is s(z) - y (BP-1).
  A trailing singleton output axis (shape (B, 1)) is squeezed.
  """
  if logits.ndim == labels.ndim + 1 and logits.shape[-1] == 1:
    logits = logits[..., 0]
  labels = labels.astype(logits.dtype)
  return jnp.maximum(logits, 0) - logits * labels + jax.nn.softplus(-jnp.abs(logits))
