"""Feature-space losses: perceptual, content and Gram style (curriculum LOSS-10, LOSS-11).

`feature_fn(x)` is any callable returning a list/tuple or dict of per-layer features phi_l(x),
each of shape (B, ...) (e.g. a frozen pretrained VGG's activations, NHWC).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from dlcore.losses.base import finish


def _layers(features):
  return list(features.items()) if isinstance(features, dict) else list(enumerate(features))


def _layer_weight(layer_weights, key):
  return 1.0 if layer_weights is None else layer_weights[key]


def _sq_norm(x, normalize):
  x = x.reshape(x.shape[0], -1)
  return (x * x).mean(axis=-1) if normalize else (x * x).sum(axis=-1)


def perceptual_loss(predictions: jnp.ndarray, targets: jnp.ndarray, feature_fn: Callable, *,
                    layer_weights=None, normalize: bool = False, weights=None, mask=None,
                    reduction: str = "none") -> jnp.ndarray:
  """LOSS-10 perceptual loss sum_l lambda_l ||phi_l(I_hat) - phi_l(I)||_2^2, per example.

  `layer_weights` (lambda_l) match the features' keys/positions (None = all 1);
  normalize=True divides layer l by its size C_l H_l W_l (Johnson et al. 2016).
  The target features are not differentiated.
  """
  feats_pred = feature_fn(predictions)
  feats_true = jax.lax.stop_gradient(feature_fn(targets))
  true_by_key = dict(_layers(feats_true))
  values = 0.0
  for key, fp in _layers(feats_pred):
    values = values + _layer_weight(layer_weights, key) * _sq_norm(fp - true_by_key[key],
                                                                   normalize)
  return finish(values, weights, mask, reduction)


def gram_matrix(features: jnp.ndarray) -> jnp.ndarray:
  """G = F^T F / (H W C) for features (B, H, W, C) (or (B, N, C)) -> (B, C, C)."""
  f = features.reshape(features.shape[0], -1, features.shape[-1])
  return jnp.einsum("bnc,bnd->bcd", f, f) / (f.shape[1] * f.shape[2])


def style_loss(predictions: jnp.ndarray, style_targets: jnp.ndarray, feature_fn: Callable, *,
               layer_weights=None, weights=None, mask=None,
               reduction: str = "none") -> jnp.ndarray:
  """LOSS-11 style loss sum_l w_l ||G(phi_l(I_hat)) - G(phi_l(S))||_F^2 (Gatys et al.; canonical,
  the seeds do not define it). The content loss is `perceptual_loss` on one layer."""
  feats_true = jax.lax.stop_gradient(feature_fn(style_targets))
  true_by_key = dict(_layers(feats_true))
  values = 0.0
  for key, fp in _layers(feature_fn(predictions)):
    diff = gram_matrix(fp) - gram_matrix(true_by_key[key])
    values = values + _layer_weight(layer_weights, key) * _sq_norm(diff, False)
  return finish(values, weights, mask, reduction)
