"""Regression losses: MSE, MAE, Huber, reconstruction (curriculum LOSS-1, 2, 3, 16; §0 item 3).

Each returns per-example values (errors averaged over trailing axes) unless `reduction` is
'mean' or 'sum'; `weights` / `mask` are per-example factors (see `base.finish`).
"""

from __future__ import annotations

import jax.numpy as jnp

from dlcore.losses.base import LOSSES, assert_same_shape, finish, per_example, squeeze_output


def _error(predictions, targets, fn: str):
  predictions = squeeze_output(jnp.asarray(predictions), jnp.asarray(targets))
  targets = jnp.asarray(targets).astype(predictions.dtype)
  assert_same_shape(fn, predictions, targets)
  return predictions - targets


@LOSSES.register("mse")
def mean_squared_error(predictions: jnp.ndarray, targets: jnp.ndarray, *, half: bool = False,
                       weights=None, mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-1 squared error (y - y_hat)^2 per example, averaged over trailing axes.

  reduction='mean' gives (1/n) sum (y - y_hat)^2; `half=True` gives the 1/(2m) form of
  000 §1.3.1 (§0 item 3), i.e. half of it.
  """
  values = per_example(_error(predictions, targets, "mean_squared_error")**2)
  return finish(values * 0.5 if half else values, weights, mask, reduction)


@LOSSES.register("mae")
def mean_absolute_error(predictions: jnp.ndarray, targets: jnp.ndarray, *, weights=None,
                        mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-2 absolute error |y - y_hat| per example; reduction='mean' gives (1/n) sum |y - y_hat|."""
  errors = jnp.abs(_error(predictions, targets, "mean_absolute_error"))
  return finish(per_example(errors), weights, mask, reduction)


@LOSSES.register("huber")
def huber_loss(predictions: jnp.ndarray, targets: jnp.ndarray, *, delta: float = 1.0,
               weights=None, mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-3 Huber: 0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2, with e = y - y_hat.

  delta = 1.0 as in 002 §2.6.1 eq.24. Inside delta it is half the squared error (MSE/2); for any e,
  max(0.5 min(e^2, delta|e|), delta|e| - delta^2/2) <= huber <= min(e^2/2, delta|e|).
  """
  a = jnp.abs(_error(predictions, targets, "huber_loss"))
  quad = jnp.minimum(a, delta)
  values = 0.5 * quad**2 + delta * (a - quad)
  return finish(per_example(values), weights, mask, reduction)


@LOSSES.register("reconstruction")
def reconstruction_loss(reconstructions: jnp.ndarray, inputs: jnp.ndarray, *, weights=None,
                        mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-16 autoencoder reconstruction ||X - X_hat||^2, summed over each example's features."""
  err = _error(reconstructions, inputs, "reconstruction_loss")**2
  values = err.reshape(err.shape[0], -1).sum(axis=-1) if err.ndim > 1 else err
  return finish(values, weights, mask, reduction)
