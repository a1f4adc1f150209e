"""Focal loss, binary and multi-class (curriculum LOSS-7: -alpha_t (1 - p_t)^gamma log p_t)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore.losses.base import LOSSES, assert_same_shape, finish, squeeze_output
from dlcore.losses.classification import (_targets, assert_class_labels,
                                          binary_cross_entropy_with_logits)


@LOSSES.register("focal")
def focal_loss(logits: jnp.ndarray, labels: jnp.ndarray, *, gamma: float = 2.0, alpha=None,
               weights=None, mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-7 multi-class focal loss: -sum_c alpha_c y_c (1 - p_c)^gamma log p_c, p = softmax(z).

  With one-hot y this is -alpha_t (1 - p_t)^gamma log p_t (p_t the true-class probability).
  gamma = 2 (002 eq.27); `alpha` is None (1), a scalar, or per-class weights (K,).
  gamma = 0 with alpha None is the categorical cross-entropy.
  """
  logits = jnp.asarray(logits)
  assert_class_labels("focal_loss", logits, jnp.asarray(labels))
  log_p = jax.nn.log_softmax(logits, axis=-1)
  modulator = jnp.power(1.0 - jnp.exp(log_p), gamma)
  terms = -_targets(logits, labels) * modulator * log_p
  if alpha is not None:
    terms = terms * jnp.asarray(alpha, logits.dtype)
  return finish(terms.sum(axis=-1), weights, mask, reduction)


@LOSSES.register("binary_focal")
def binary_focal_loss(logits: jnp.ndarray, labels: jnp.ndarray, *, gamma: float = 2.0,
                      alpha: float | None = 0.25, weights=None, mask=None,
                      reduction: str = "none") -> jnp.ndarray:
  """LOSS-7 binary focal loss from logits: -alpha_t (1 - p_t)^gamma log p_t.

  p = s(z); p_t = p if y = 1 else 1 - p (p y + (1-p)(1-y) for soft y); alpha_t = alpha if y = 1
  else 1 - alpha (canonical alpha = 0.25, RetinaNet; None disables it); gamma = 2.
  gamma = 0 with alpha None is the binary cross-entropy.
  """
  logits = squeeze_output(jnp.asarray(logits), jnp.asarray(labels))
  y = jnp.asarray(labels).astype(logits.dtype)
  assert_same_shape("binary_focal_loss", logits, y)
  ce = binary_cross_entropy_with_logits(logits, y)
  p = jax.nn.sigmoid(logits)
  p_t = p * y + (1 - p) * (1 - y)
  values = ce * jnp.power(1.0 - p_t, gamma)
  if alpha is not None:
    values = values * (alpha * y + (1 - alpha) * (1 - y))
  return finish(values, weights, mask, reduction)
