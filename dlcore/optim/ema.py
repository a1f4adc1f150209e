"""Exponential moving average of the parameters (Polyak averaging) as a pure function.

How the trainer keeps it: add an `ema_params` field to `TrainState` initialised to a copy of
`params`; in the train step, after `optax.apply_updates`, set
`ema_params = ema_update(state.ema_params, new_params, decay)` (inside the same `lax.cond`, so
a skipped non-finite step leaves it untouched); evaluate and export with `ema_params`.
(`optax.ema` is not this: it averages *updates* inside a chain, not the parameters.)
"""

from __future__ import annotations

import jax


def ema_update(ema_params, params, decay: float):
  """θ̄ ← decay·θ̄ + (1 − decay)·θ, leaf by leaf (typical decay 0.999)."""
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema_params, params)
