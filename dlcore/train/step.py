"""Pure train and eval steps built from a loss function, compiled once with `jax.jit`.

A loss function has the signature::

  loss_fn(params, model_state, batch, rng, train: bool)
      -> (scalar_loss, (new_model_state, {metric_name: dlcore.metrics.Average}))

`make_train_step` turns it into `train_step(state, batch) -> (state, metrics)` (BP-5: the
imperative zero_grad/backward/step loop of the seeds, expressed functionally).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from dlcore.metrics import Average
from dlcore.train import mesh as mesh_lib
from dlcore.train.state import TrainState

LossFn = Callable[..., tuple[jax.Array, tuple[Any, dict[str, Average]]]]


def make_train_step(loss_fn: LossFn) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
  """The un-jitted pure train step (use `compile_train_step` to jit it over a mesh)."""

  def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
    rng = jax.random.fold_in(state.rng, state.step)  # per-step randomness, reproducible
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, (model_state, metrics)), grads = grad_fn(state.params, state.model_state, batch, rng,
                                                    True)
    grad_norm = jnp.sqrt(sum(jnp.vdot(g, g).real for g in jax.tree.leaves(grads)))
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & (state.nonfinite_step < 0)

    def apply(_):
      updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
      return optax.apply_updates(state.params, updates), opt_state, model_state, state.step + 1

    def skip(_):
      return state.params, state.opt_state, state.model_state, state.step

    params, opt_state, model_state, step = jax.lax.cond(finite, apply, skip, None)
    nonfinite_step = jnp.where((state.nonfinite_step < 0) & ~finite, state.step,
                               state.nonfinite_step)
    metrics = dict(metrics, grad_norm=Average(total=grad_norm, count=jnp.ones((), jnp.float32)))
    new_state = state.replace(step=step, params=params, opt_state=opt_state,
                              model_state=model_state, nonfinite_step=nonfinite_step)
    return new_state, metrics

  return train_step


def make_eval_step(loss_fn: LossFn) -> Callable[[TrainState, dict], dict]:
  """Eval step: the loss function in eval mode (`train=False`); returns metric sums."""

  def eval_step(state: TrainState, batch: dict) -> dict:
    _, (_, metrics) = loss_fn(state.params, state.model_state, batch, state.rng, False)
    return metrics

  return eval_step


def compile_train_step(train_step: Callable, mesh: Mesh, donate: bool = True) -> Callable:
  """jit with the state replicated and the batch sharded over the mesh's `data` axis."""
  return jax.jit(train_step,
                 in_shardings=(mesh_lib.replicated(mesh), mesh_lib.batch_sharding(mesh)),
                 out_shardings=(mesh_lib.replicated(mesh), mesh_lib.replicated(mesh)),
                 donate_argnums=(0,) if donate else ())


def compile_eval_step(eval_step: Callable, mesh: Mesh) -> Callable:
  return jax.jit(eval_step,
                 in_shardings=(mesh_lib.replicated(mesh), mesh_lib.batch_sharding(mesh)),
                 out_shardings=mesh_lib.replicated(mesh))
