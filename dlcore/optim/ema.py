"""Exponential moving average of the parameters (Polyak averaging; OPT "EMA of parameters").

  θ̄_0 = θ_0,   θ̄_t = decay · θ̄_{t−1} + (1 − decay) · θ_t        (typical decay 0.999)

so after k updates θ̄_k = decay^k θ_0 + (1 − decay) Σ_{i=1..k} decay^{k−i} θ_i.

`param_ema(decay)` keeps θ̄ in the optimizer state as the LAST link of an Optax chain: it passes
the updates through unchanged and sets θ̄ ← decay θ̄ + (1 − decay)(θ + u), where θ + u is the
parameter value `optax.apply_updates` is about to produce. Living in the optimizer state, θ̄ is
checkpointed and restored with it, is skipped with the rest of the update on a non-finite step,
and advances once per real update under gradient accumulation (`optax.MultiSteps`).
`ema_params(opt_state)` fetches θ̄ back (None when the chain has no `param_ema`); the trainer
evaluates with it when `config.optimizer.ema_decay > 0`.

(`optax.ema` is not this: it averages the *updates* flowing through a chain, not the parameters.)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax

from dlcore.errors import ConfigError


class ParamEmaState(NamedTuple):
  """θ̄, a pytree of the parameters' structure, shapes and dtypes."""
  ema_params: Any


def ema_update(ema_params, params, decay: float):
  """θ̄ ← decay·θ̄ + (1 − decay)·θ, leaf by leaf, in each leaf's dtype."""
  return jax.tree.map(lambda e, p: (decay * e + (1.0 - decay) * p).astype(e.dtype), ema_params,
                      params)


def param_ema(decay: float) -> optax.GradientTransformation:
  """An identity on the updates that tracks θ̄ (see the module docstring); needs `params`."""
  if not 0.0 <= decay < 1.0:
    raise ConfigError(f"optimizer.ema_decay={decay} must be in [0, 1) (0 = off; e.g. 0.999).")

  def init_fn(params):
    return ParamEmaState(ema_params=jax.tree.map(lambda p: p.copy(), params))

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError("param_ema needs the parameters: call tx.update(grads, state, params).")
    new_params = optax.apply_updates(params, updates)
    return updates, ParamEmaState(ema_update(state.ema_params, new_params, decay))

  return optax.GradientTransformation(init_fn, update_fn)


def ema_params(opt_state) -> Any | None:
  """θ̄ from an optimizer state built with `param_ema` (anywhere in the chain), else None."""
  return optax.tree_utils.tree_get(opt_state, "ema_params", default=None)
