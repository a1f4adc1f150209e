"""Dynamic loss scaling for float16 training (`optimizer.loss_scale='dynamic'`).

float16 has 5 exponent bits: gradients below ~6e-8 flush to zero. The train step therefore
differentiates S·loss (S, the loss scale, starts at `loss_scale_init`, 2^15) and this transform,
the outermost link of the optimizer chain, divides the gradients by S before the optimizer sees
them. When any scaled gradient overflowed (Inf/NaN), the step's update is zero, the optimizer
state is kept and S halves (never below 1); after `loss_scale_period` finite steps in a row S
doubles. So an overflow is a skipped step, not an error: the train step's NaN guard does not
count gradients when a loss scale is present (a NaN loss or update still stops the run).

The state (S, the count of finite steps) lives in the optimizer state, so it is checkpointed
and restored with it; `loss_scale_of(opt_state)` reads S back (None when the chain has none).
Parameters and optimizer moments stay float32 (master weights); only the model's compute runs
in `model.dtype`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from dlcore.errors import ConfigError

MODES = ("none", "dynamic")


class LossScaleState(NamedTuple):
  loss_scale: jax.Array  # S, float32 scalar
  good_steps: jax.Array  # finite steps since S last changed, int32
  inner: Any


def all_finite(tree: Any) -> jax.Array:
  leaves = jax.tree.leaves(tree)
  return jnp.stack([jnp.isfinite(x).all() for x in leaves]).all() if leaves else jnp.array(True)


def dynamic_loss_scale(inner: optax.GradientTransformation, initial: float = 2.0 ** 15,
                       period: int = 2000, factor: float = 2.0) -> optax.GradientTransformation:
  """Wrap `inner` so it receives gradients of the *scaled* loss (module docstring)."""
  if not initial >= 1.0 or period < 1:
    raise ConfigError(f"optimizer.loss_scale_init must be >= 1 and optimizer.loss_scale_period "
                      f">= 1, got {initial} and {period}.")

  def init_fn(params):
    return LossScaleState(jnp.asarray(initial, jnp.float32), jnp.zeros((), jnp.int32),
                          inner.init(params))

  def update_fn(grads, state, params=None):
    scale = state.loss_scale
    grads = jax.tree.map(lambda g: (g.astype(jnp.float32) / scale).astype(g.dtype), grads)
    finite = all_finite(grads)
    updates, inner_state = inner.update(grads, state.inner, params)
    updates = jax.tree.map(lambda u: jnp.where(finite, u, jnp.zeros_like(u)), updates)
    inner_state = jax.tree.map(lambda n, o: jnp.where(finite, n, o), inner_state, state.inner)
    good = jnp.where(finite, state.good_steps + 1, 0)
    grow = good >= period
    new_scale = jnp.where(finite, jnp.where(grow, scale * factor, scale),
                          jnp.maximum(scale / factor, 1.0))
    return updates, LossScaleState(new_scale, jnp.where(grow, 0, good), inner_state)

  return optax.GradientTransformation(init_fn, update_fn)


def loss_scale_of(opt_state: Any) -> jax.Array | None:
  """S of an optimizer state built with `dynamic_loss_scale`, else None."""
  if isinstance(opt_state, LossScaleState):
    return opt_state.loss_scale
  return None


def with_loss_scale(tx: optax.GradientTransformation, mode: str, initial: float,
                    period: int) -> optax.GradientTransformation:
  if mode not in MODES:
    raise ConfigError(f"optimizer.loss_scale={mode!r}; valid: {', '.join(MODES)}.")
  return tx if mode == "none" else dynamic_loss_scale(tx, initial, period)
