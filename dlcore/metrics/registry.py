"""Per-example metric functions selectable by name from a config."""

from __future__ import annotations

import jax.numpy as jnp

from dlcore.metrics.classification import accuracy_counts
from dlcore.metrics.topk import top_k_correct, top_k_error
from dlcore.registry import Registry

METRICS: Registry = Registry("metric")
METRICS.add("accuracy", accuracy_counts)


def _squeeze(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  if outputs.ndim == targets.ndim + 1 and outputs.shape[-1] == 1:
    outputs = outputs[..., 0]
  return outputs - targets.astype(outputs.dtype)


@METRICS.register("mse")
def squared_error(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  """MET-8 (y - y_hat)^2 per example; its average over a split is the MSE."""
  return _squeeze(outputs, targets)**2


@METRICS.register("mae")
def absolute_error(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  """MET-10 |y - y_hat| per example; its average over a split is the MAE."""
  return jnp.abs(_squeeze(outputs, targets))


@METRICS.register("error_rate")
def error_rate(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  """MET-17 1 - [y_hat = y] per example; its average over a split is the error rate."""
  return 1.0 - accuracy_counts(outputs, targets)


@METRICS.register("top5_accuracy")
def top5_accuracy(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  """MET-17 [true class among the 5 highest scores] per example (see topk.top_k_correct)."""
  return top_k_correct(outputs, targets, 5)


@METRICS.register("top5_error")
def top5_error(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  """MET-17 1 - top5_accuracy per example; its average is the top-5 error rate."""
  return top_k_error(outputs, targets, 5)
