"""AdaGrad in its canonical form (OPT-8); `optax.adagrad` differs, see below."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class AdagradState(NamedTuple):
  sum_of_squares: optax.Updates


def scale_by_adagrad(eps: float = 1e-8,
                     initial_accumulator_value: float = 0.0) -> optax.GradientTransformation:
  """G_t = G_{t−1} + g_t²; the update is g_t / (√G_t + ε) (scale by −η afterwards).

  `optax.adagrad` starts G at 0.1 and puts ε inside the root (g/√(G + ε), eps = 1e-7), so its
  first steps are much smaller than the canonical rule's (≈ η·sign(g)). This one starts at
  G_0 = `initial_accumulator_value` (0) with ε outside the root. OPT-8.
  """

  def init_fn(params):
    return AdagradState(jax.tree.map(
        lambda p: jnp.full_like(p, initial_accumulator_value), params))

  def update_fn(updates, state, params=None):
    del params
    sums = jax.tree.map(lambda s, g: s + g * g, state.sum_of_squares, updates)
    updates = jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, sums)
    return updates, AdagradState(sums)

  return optax.GradientTransformation(init_fn, update_fn)


def adagrad(learning_rate: optax.ScalarOrSchedule, eps: float = 1e-8,
            initial_accumulator_value: float = 0.0) -> optax.GradientTransformation:
  """OPT-8 canonical AdaGrad: G += g²; θ −= η g / (√G + ε)."""
  return optax.chain(scale_by_adagrad(eps, initial_accumulator_value),
                     optax.scale_by_learning_rate(learning_rate))
