"""The inner loop of MAML (ARC-49; Finn et al. 2017, Algorithm 2): plain gradient descent on one
task's support loss, written so that the outer (meta) gradient flows through it.

  θ'_0 = θ,   θ'_{s+1} = θ'_s − α ∇_θ L_support(θ'_s),   s = 0..steps−1

MAML's meta-objective L_query(θ'(θ)) is then differentiated with respect to θ: through the inner
gradients (second order: ∇_θ L_query(θ') = (I − α ∇²L_support(θ)) ∇L_query(θ') for one step,
`jax.grad` of a function that calls `jax.grad`) or, with `first_order=True` (first-order MAML),
with the inner gradients held constant (`stop_gradient`), so that ∇_θ ≈ ∇L_query(θ').
`sgd_curve` runs the same descent without a meta-gradient and records a loss after every step
(fine-tuning at test time).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def sgd_adapt(loss_fn: Callable, params, lr: float, steps: int, first_order: bool = False):
  """θ' after `steps` gradient steps of size `lr` on `loss_fn(params) -> scalar`."""
  for _ in range(int(steps)):
    grads = jax.grad(loss_fn)(params)
    if first_order:
      grads = jax.lax.stop_gradient(grads)
    params = jax.tree.map(lambda p, g: p - lr * g, params, grads)
  return params


def sgd_curve(loss_fn: Callable, eval_fn: Callable, params, lr: float, steps: int) -> jax.Array:
  """[steps + 1]: `eval_fn(θ'_s)` for s = 0..steps of the descent on `loss_fn`."""
  def body(p, _):
    new = jax.tree.map(lambda a, g: a - lr * g, p, jax.grad(loss_fn)(p))
    return new, eval_fn(new)
  _, losses = jax.lax.scan(body, params, None, length=int(steps))
  return jnp.concatenate([eval_fn(params)[None], losses])
