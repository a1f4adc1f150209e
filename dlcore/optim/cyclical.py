"""Triangular cyclical learning rate (SCH-4, Smith 2017 'CLR')."""

from __future__ import annotations

import jax.numpy as jnp
import optax


def triangular_schedule(base_lr: float, max_lr: float, step_size: int) -> optax.Schedule:
  """SCH-4 triangular CLR: cycle = ⌊1 + t/(2s)⌋; x = |t/s − 2·cycle + 1|;
  lr_t = base + (max − base)·max(0, 1 − x). Starts at base, peaks at t = s, back at t = 2s."""
  s = float(step_size)

  def schedule(step):
    t = jnp.asarray(step, jnp.float32)
    cycle = jnp.floor(1.0 + t / (2.0 * s))
    x = jnp.abs(t / s - 2.0 * cycle + 1.0)
    return base_lr + (max_lr - base_lr) * jnp.maximum(0.0, 1.0 - x)

  return schedule
