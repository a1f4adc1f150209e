"""Momentum in the seeds' EMA form (OPT-5, curriculum §0 item 1); not provided by Optax."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class EmaMomentumState(NamedTuple):
  velocity: optax.Updates


def scale_by_ema_momentum(beta: float = 0.9) -> optax.GradientTransformation:
  """v_t = β v_{t−1} + (1−β) g_t; the update is v_t (scale by −α afterwards).

  v_0 = 0, so after k steps of a constant gradient g, v_k = (1 − β^k) g (no bias correction,
  as in 000 §1.5.4 and 002 §5.1 eq.63–64). OPT-5.
  """

  def init_fn(params):
    return EmaMomentumState(velocity=jax.tree.map(jnp.zeros_like, params))

  def update_fn(updates, state, params=None):
    del params
    velocity = jax.tree.map(lambda v, g: beta * v + (1.0 - beta) * g, state.velocity, updates)
    return velocity, EmaMomentumState(velocity=velocity)

  return optax.GradientTransformation(init_fn, update_fn)


def ema_momentum(learning_rate: optax.ScalarOrSchedule,
                 beta: float = 0.9) -> optax.GradientTransformation:
  """OPT-5 / §0 item 1: v ← βv + (1−β)g, θ ← θ − αv (β = 0.9 in the seeds).

  Compared with `optax.sgd(α, momentum=β)` (heavy-ball v ← βv + g) the steady-state step is
  smaller by (1 − β): with a constant gradient this one tends to α·g, heavy-ball to α·g/(1−β).
  """
  return optax.chain(scale_by_ema_momentum(beta), optax.scale_by_learning_rate(learning_rate))
