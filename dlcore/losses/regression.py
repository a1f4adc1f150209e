"""Regression losses (curriculum LOSS-1)."""

from __future__ import annotations

import jax.numpy as jnp

from dlcore.losses.base import LOSSES


@LOSSES.register("mse")
def mean_squared_error(predictions: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  """LOSS-1 squared error (y - y_hat)^2 per example, averaged over trailing axes.

  The mean over examples (1/n) comes from `reduce_loss`; the 1/(2m) variant of 000 §1.3.1 is
  half of it.
  """
  if predictions.ndim == targets.ndim + 1 and predictions.shape[-1] == 1:
    predictions = predictions[..., 0]
  err = (predictions - targets.astype(predictions.dtype))**2
  return err.reshape(err.shape[0], -1).mean(axis=-1) if err.ndim > 1 else err
