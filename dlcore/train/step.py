"""Pure train and eval steps built from a loss function, compiled once with `jax.jit`.

A loss function has the signature::

  loss_fn(params, model_state, batch, rng, train: bool)
      -> (scalar_loss, (new_model_state, {metric_name: dlcore.metrics.Average}))

`make_train_step` turns it into `train_step(state, batch) -> (state, metrics)` (BP-5: the
imperative zero_grad/backward/step loop of the seeds, expressed functionally). The metrics come
back as one `PackedAverages` array (plus `grad_norm`); `dlcore.metrics.merge_all`/`compute`
unpack them on the host.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from dlcore.metrics import Average, PackedAverages
from dlcore.train import mesh as mesh_lib
from dlcore.train.state import TrainState

LossFn = Callable[..., tuple[jax.Array, tuple[Any, dict[str, Average]]]]


def _guarded_update(finite: jax.Array, state: TrainState, grads: Any, model_state: Any):
  """Apply the optimizer update only when `finite`; otherwise keep the old values.

  The form follows the backend (chosen at trace time): on CPU a `lax.cond` (a select over the
  parameter and optimizer trees costs extra memory passes there, ~20% of an MLP step); on
  GPU/TPU an elementwise select that XLA fuses into the update (a `lax.cond` would make the host
  read the predicate each step, a sync).
  """

  def apply(_):
    updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
    return optax.apply_updates(state.params, updates), opt_state, model_state

  old = (state.params, state.opt_state, state.model_state)
  if jax.default_backend() == "cpu":
    return jax.lax.cond(finite, apply, lambda _: old, None)
  new = apply(None)
  return jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)


def make_train_step(loss_fn: LossFn) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
  """The un-jitted pure train step (use `compile_train_step` to jit it over a mesh)."""

  def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
    rng = jax.random.fold_in(state.rng, state.step)  # per-step randomness, reproducible
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, (model_state, metrics)), grads = grad_fn(state.params, state.model_state, batch, rng,
                                                    True)
    grad_norm = jnp.sqrt(sum(jnp.vdot(g, g).real for g in jax.tree.leaves(grads)))
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & (state.nonfinite_step < 0)
    params, opt_state, model_state = _guarded_update(finite, state, grads, model_state)
    nonfinite_step = jnp.where((state.nonfinite_step < 0) & ~finite, state.step,
                               state.nonfinite_step)
    metrics = dict(metrics, grad_norm=Average(total=grad_norm, count=jnp.ones((), jnp.float32)))
    new_state = state.replace(step=state.step + finite.astype(state.step.dtype), params=params,
                              opt_state=opt_state, model_state=model_state,
                              nonfinite_step=nonfinite_step)
    return new_state, PackedAverages.pack(metrics)

  return train_step


def make_eval_step(loss_fn: LossFn) -> Callable[[TrainState, dict], dict]:
  """Eval step: the loss function in eval mode (`train=False`) with `state.eval_params()` (the
  parameter EMA when the optimizer keeps one); returns metric sums."""

  def eval_step(state: TrainState, batch: dict) -> dict:
    _, (_, metrics) = loss_fn(state.eval_params(), state.model_state, batch, state.rng, False)
    return PackedAverages.pack(metrics)

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
