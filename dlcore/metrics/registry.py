"""Per-example metric functions selectable by name from a config."""

from __future__ import annotations

import jax.numpy as jnp

from dlcore.metrics.classification import accuracy_counts
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
