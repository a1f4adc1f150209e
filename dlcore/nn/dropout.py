"""Dropout and spatial (channel) dropout (curriculum §2c LAY-14, LAY-15; §6b REG-3).

r_i ~ Bernoulli(1 - p) independently; each unit is zeroed with probability p (p = `rate`).

  mode='inverted' (default, §0 item 2)   train: y = r * x / (1 - p)     eval: y = x
  mode='vanilla'  (classic, 003 §III.3)  train: y = r * x               eval: y = (1 - p) x

Both keep E[y_train] = y_eval. The seeds' "scale by 1/(1-p) in training AND by (1-p) at test"
(000 §1.6.2, 002 §5.3) would double-compensate, so dlcore offers exactly one of the two per layer.
The 004 §3.3.2 code (mask = rand < keep_prob; A * D / keep_prob) is mode='inverted' with
p = 1 - keep_prob. p = 1 drops everything (train output 0 in both modes; vanilla eval output 0).

  SpatialDropout  LAY-15  one r per (example, channel) of a channels-last map (N, *spatial, C),
                          shared over the spatial axes: whole feature maps are dropped
                          (Tompson et al. 2015). Inverted scaling by default.

Randomness comes from the Flax rng stream 'dropout' (`apply(..., rngs={'dropout': key})`), or an
explicit `rng` argument; dlcore's train step folds the step into it (architecture.md).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError

MODES = ("inverted", "vanilla")


def _check(rate: float, mode: str) -> None:
  if not 0.0 <= rate <= 1.0:
    raise ConfigError(f"dropout rate={rate} must be in [0, 1] (the probability of dropping a "
                      f"unit, e.g. 0.5).")
  if mode not in MODES:
    raise ConfigError(f"dropout mode={mode!r} is unknown; use 'inverted' (scale 1/(1-p) in "
                      f"training) or 'vanilla' (scale (1-p) at evaluation).")


def dropout(x: jnp.ndarray, rate: float, rng: jax.Array | None, train: bool,
            mode: str = "inverted", broadcast_dims: Sequence[int] = ()) -> jnp.ndarray:
  """LAY-14 y = r * x / (1 - p) (inverted) or r * x (vanilla) in training, r ~ Bernoulli(1 - p);
  x (inverted) or (1 - p) x (vanilla) at evaluation. The mask is shared along `broadcast_dims`."""
  _check(rate, mode)
  x = jnp.asarray(x)
  if not train:
    return x if mode == "inverted" or rate == 0 else (x * (1.0 - rate)).astype(x.dtype)
  if rate == 0:
    return x
  if rate == 1:
    return jnp.zeros_like(x)
  if rng is None:
    raise ValueError("dropout with train=True needs an rng (Flax: rngs={'dropout': key})")
  dims = {d % x.ndim for d in broadcast_dims}
  mask_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape))
  keep = jax.random.bernoulli(rng, 1.0 - rate, mask_shape)
  kept = x / (1.0 - rate) if mode == "inverted" else x
  return jnp.where(keep, kept, jnp.zeros_like(x)).astype(x.dtype)


class Dropout(nn.Module):
  """LAY-14 dropout layer, `__call__(x, train)`; `mode` 'inverted' (default) or 'vanilla'.

  Attributes:
    rate: p, the probability of zeroing a unit.
    mode: 'inverted' (1/(1-p) in training, identity at eval) or 'vanilla' ((1-p) x at eval).
    broadcast_dims: axes along which one mask value is shared (() = elementwise).
    rng_collection: the Flax rng stream ('dropout').
  """
  rate: float = 0.5
  mode: str = "inverted"
  broadcast_dims: Sequence[int] = ()
  rng_collection: str = "dropout"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False,
               rng: jax.Array | None = None) -> jnp.ndarray:
    _check(self.rate, self.mode)
    if train and 0 < self.rate < 1 and rng is None:
      rng = self.make_rng(self.rng_collection)
    return dropout(x, self.rate, rng, train, self.mode, self.broadcast_dims)


class SpatialDropout(nn.Module):
  """LAY-15 channel dropout for (N, *spatial, C) maps: r ~ Bernoulli(1 - p) per (n, c), shared
  over the spatial axes, y[n, ..., c] = r[n, c] x[n, ..., c] / (1 - p) in training (inverted; or
  `mode='vanilla'`), identity at evaluation."""
  rate: float = 0.5
  mode: str = "inverted"
  rng_collection: str = "dropout"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False,
               rng: jax.Array | None = None) -> jnp.ndarray:
    _check(self.rate, self.mode)
    x = jnp.asarray(x)
    if x.ndim < 3:
      raise ValueError(f"SpatialDropout expects (batch, *spatial, channels), got shape {x.shape}")
    if train and 0 < self.rate < 1 and rng is None:
      rng = self.make_rng(self.rng_collection)
    return dropout(x, self.rate, rng, train, self.mode, tuple(range(1, x.ndim - 1)))
