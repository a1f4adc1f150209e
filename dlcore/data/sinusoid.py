"""Sinusoid regression tasks (Finn et al. 2017 §5.1), drawn inside a jitted step:
y = A sin(x − φ) with amplitude A ~ U[0.1, 5], phase φ ~ U[0, π], inputs x ~ U[−5, 5];
each task gives `num_points` (x, y) pairs, shaped [tasks, points, 1].
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
INPUT = (-5.0, 5.0)


def sample_tasks(key: jax.Array, num_tasks: int) -> tuple[jax.Array, jax.Array]:
  """(amplitude [T], phase [T])."""
  ka, kp = jax.random.split(key)
  return (jax.random.uniform(ka, (num_tasks,), minval=AMPLITUDE[0], maxval=AMPLITUDE[1]),
          jax.random.uniform(kp, (num_tasks,), minval=PHASE[0], maxval=PHASE[1]))


def sample_points(key: jax.Array, amplitude: jax.Array, phase: jax.Array, num_points: int
                  ) -> tuple[jax.Array, jax.Array]:
  """(x, y) [T, num_points, 1] of the tasks (amplitude, phase)."""
  x = jax.random.uniform(key, amplitude.shape + (num_points, 1), minval=INPUT[0],
                         maxval=INPUT[1])
  return x, amplitude[:, None, None] * jnp.sin(x - phase[:, None, None])
