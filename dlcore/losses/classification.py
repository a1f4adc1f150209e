"""Classification losses: BCE, categorical and weighted CE (curriculum LOSS-4, 5, 6, 22).

Each returns per-example values unless `reduction` is 'mean' or 'sum'; `weights` / `mask` are
per-example factors (see `base.finish`). Labels are integer class ids (shape logits.shape[:-1])
or one-hot / soft targets (shape of logits).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from dlcore.losses.base import LOSSES, assert_same_shape, finish, squeeze_output


def assert_class_labels(fn: str, logits: jnp.ndarray, labels: jnp.ndarray) -> None:
  """Entry check (trace time, chex): labels are class ids of shape logits.shape[:-1], or one-hot
  / soft targets of shape logits.shape. (B, 1) ids with (B, K) logits would broadcast."""
  message = (f"{fn}: labels must be integer class ids of shape logits.shape[:-1] = "
             f"{logits.shape[:-1]} or one-hot/soft targets of shape logits.shape = "
             f"{logits.shape}; got labels of shape {labels.shape}")
  chex.assert_rank(logits, set(range(1, 9)), custom_message=message)
  if labels.ndim == logits.ndim:
    chex.assert_equal_shape([logits, labels], custom_message=message)
  else:
    chex.assert_shape(labels, logits.shape[:-1], custom_message=message)


def _targets(logits, labels, label_smoothing: float = 0.0):
  """One-hot (or soft) targets, smoothed: (1 - ls) y + ls / K."""
  labels = jnp.asarray(labels)
  num_classes = logits.shape[-1]
  if labels.ndim == logits.ndim:
    y = labels.astype(logits.dtype)
  else:
    y = jax.nn.one_hot(labels, num_classes, dtype=logits.dtype)
  if label_smoothing:
    y = (1.0 - label_smoothing) * y + label_smoothing / num_classes
  return y


@LOSSES.register("cross_entropy")
def softmax_cross_entropy(logits: jnp.ndarray, labels: jnp.ndarray, *,
                          label_smoothing: float = 0.0, weights=None, mask=None,
                          reduction: str = "none") -> jnp.ndarray:
  """LOSS-5 categorical cross-entropy from logits: -sum_c y_c log softmax(z)_c, per example.

  `label_smoothing` ls replaces y by (1 - ls) y + ls/K. Uses a stable log-softmax (ACT-10).
  With reduction='sum' this is the unnormalised form of 001/003, with 'mean' the 1/N form
  (§0 item 4). Logits (B, T, V) with labels (B, T) give per-token values (LOSS-22).
  """
  logits = jnp.asarray(logits)
  labels = jnp.asarray(labels)
  assert_class_labels("softmax_cross_entropy", logits, labels)
  log_p = jax.nn.log_softmax(logits, axis=-1)
  if labels.ndim < logits.ndim and not label_smoothing:
    values = -jnp.take_along_axis(log_p, labels.astype(jnp.int32)[..., None], axis=-1)[..., 0]
  else:
    values = -(_targets(logits, labels, label_smoothing) * log_p).sum(axis=-1)
  return finish(values, weights, mask, reduction)


@LOSSES.register("weighted_cross_entropy")
def weighted_cross_entropy(logits: jnp.ndarray, labels: jnp.ndarray, *, class_weights,
                           label_smoothing: float = 0.0, weights=None, mask=None,
                           reduction: str = "none") -> jnp.ndarray:
  """LOSS-6 class-weighted CE: -sum_c w_c y_c log softmax(z)_c (for class imbalance).

  reduction='mean' divides by the number of examples. PyTorch's weighted mean
  (sum w_{y_i} CE_i / sum w_{y_i}) is `softmax_cross_entropy(..., weights=w[labels], 'mean')`.
  """
  logits = jnp.asarray(logits)
  assert_class_labels("weighted_cross_entropy", logits, jnp.asarray(labels))
  w = jnp.asarray(class_weights, logits.dtype)
  log_p = jax.nn.log_softmax(logits, axis=-1)
  values = -(w * _targets(logits, labels, label_smoothing) * log_p).sum(axis=-1)
  return finish(values, weights, mask, reduction)


@LOSSES.register("binary_cross_entropy")
def binary_cross_entropy_with_logits(logits: jnp.ndarray, labels: jnp.ndarray, *, weights=None,
                                     mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-4 binary cross-entropy from a logit z: -[y log s(z) + (1-y) log(1-s(z))], per example.

  Uses the stable form max(z,0) - z*y + log(1+exp(-|z|)); equal to the seeds' clipped BCE on
  probabilities wherever their clip (1e-15) is inactive, and its gradient in z is s(z) - y (BP-1).
  A trailing singleton output axis (shape (B, 1)) is squeezed. Multi-label outputs (B, C) give
  independent per-class values (B, C).
  """
  logits = squeeze_output(jnp.asarray(logits), jnp.asarray(labels))
  labels = jnp.asarray(labels).astype(logits.dtype)
  assert_same_shape("binary_cross_entropy_with_logits", logits, labels)
  values = jnp.maximum(logits, 0) - logits * labels + jax.nn.softplus(-jnp.abs(logits))
  return finish(values, weights, mask, reduction)


def probability_eps(dtype) -> float:
  """The BCE clip: the seed's 1e-15, raised to the dtype's machine epsilon (1e-15 rounds away in
  float32, where 1 - 1e-15 == 1)."""
  return max(1e-15, float(jnp.finfo(dtype).eps))


@LOSSES.register("binary_cross_entropy_probs")
def binary_cross_entropy(probs: jnp.ndarray, labels: jnp.ndarray, *, eps: float | None = None,
                         weights=None, mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-4 BCE from probabilities: -[y log p + (1-y) log(1-p)], p clipped to [eps, 1 - eps].

  eps defaults to `probability_eps(dtype)` (the 002 code's 1e-15, dtype-aware).
  """
  probs = squeeze_output(jnp.asarray(probs), jnp.asarray(labels))
  if not jnp.issubdtype(probs.dtype, jnp.floating):
    probs = probs.astype(jnp.float32)
  eps = probability_eps(probs.dtype) if eps is None else eps
  p = jnp.clip(probs, eps, 1 - eps)
  y = jnp.asarray(labels).astype(p.dtype)
  assert_same_shape("binary_cross_entropy", p, y)
  values = -(y * jnp.log(p) + (1 - y) * jnp.log1p(-p))
  return finish(values, weights, mask, reduction)
