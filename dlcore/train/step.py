"""Pure train steps for any number of parts, compiled once with `jax.jit` over a mesh.

A loss function trains one part (BP-5: the seeds' zero_grad/backward/step loop, expressed
functionally)::

  loss_fn(params, state, batch, rngs, *args) -> (scalar_loss, aux)

`params` are the part's parameters (differentiated), `state` the whole `TrainState` as it is at
that point of the step (the other parts' current parameters, `extra`), `rngs` the step's named
keys (`step_rngs`), `args` the step's extra jit arguments (a frozen teacher, an encoder: passed
in, never baked into the program as constants). `aux` is a dict: ``metrics`` (name ->
`dlcore.metrics.Average` or any additive statistic), and optionally ``model_state`` (the part's
new mutable collections) and ``extra`` (the new `state.extra`).

`make_train_step` updates the parts in their declared order, each with its own optimizer (a GAN
steps D, then G against the new D). An optional ``collect(state, batch, rngs, *args) ->
(state, batch, metrics)`` runs first: it generates the step's data inside the jitted step (RL
rollouts under `lax.scan`), so the batch may be None. One guard covers the whole step: when any
loss, gradient or update is NaN/Inf, the step keeps the old state, records the step in
`nonfinite_step` and skips every later update.
"""

from __future__ import annotations

import zlib
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from dlcore.metrics import Average, PackedAverages
from dlcore.train import mesh as mesh_lib
from dlcore.train.state import MODEL, TrainState

LossFn = Callable[..., tuple[jax.Array, dict]]
DEFAULT_STREAMS = ("params", "dropout")


def step_rngs(rng: jax.Array, step: jax.Array, streams: Sequence[str] = DEFAULT_STREAMS
              ) -> dict[str, jax.Array]:
  """The named keys of one step. k = fold_in(rng, step) is the `dropout` stream (as it was before
  streams had names, so earlier runs reproduce bitwise); every other stream s is
  fold_in(k, crc32(s)): independent of the others, the same for a name in every run."""
  key = jax.random.fold_in(rng, step)
  return {s: key if s == "dropout" else jax.random.fold_in(key, zlib.crc32(s.encode()) & 0x7FFFFFFF)
          for s in dict.fromkeys(("dropout", *streams))}


def global_norm(tree: Any) -> jax.Array:
  """sqrt(Σ |x|²) over every leaf (0 for an empty tree)."""
  leaves = jax.tree.leaves(tree)
  return jnp.sqrt(sum(jnp.vdot(x, x).real for x in leaves)) if leaves else jnp.zeros(())


def keep_if_finite(finite: jax.Array, new: Any, old: Any) -> Any:
  """`new` when `finite`, else `old` (same structure), as an elementwise select that XLA fuses
  into the update. On every backend: on CPU it measured as fast as a `lax.cond` around the
  optimizer update (10.1 vs 10.6 ms for a 784-1024-1024-10 Adam step, batch 128), while a
  `lax.cond` choosing between the precomputed new and old trees cost 16.6 ms; on GPU/TPU a
  `lax.cond` would also make the host read the predicate each step (a sync)."""
  return jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)


def _named(metrics: Mapping[str, Any], part: str, prefix: bool) -> dict[str, Any]:
  return {f"{part}/{k}" if prefix else k: v for k, v in metrics.items()}


def make_train_step(losses: LossFn | Mapping[str, LossFn], *, collect: Callable | None = None,
                    streams: Sequence[str] = DEFAULT_STREAMS) -> Callable:
  """The un-jitted pure step `train_step(state, batch, *args) -> (state, PackedAverages)`.

  `losses`: one loss function (trains part `model`) or {part: loss_fn} in update order. With
  several parts every metric is reported as 'part/name'. Each part also reports its pre-clip
  gradient norm `grad_norm`. `streams`: the named keys the loss functions read from `rngs`.
  """
  losses = {MODEL: losses} if callable(losses) else dict(losses)
  prefix = len(losses) > 1

  def train_step(state: TrainState, batch: Any, *args: Any):
    rngs = step_rngs(state.rng, state.step, streams)
    new, metrics = state, {}
    if collect is not None:
      new, batch, collected = collect(new, batch, rngs, *args)
      metrics.update(collected)
    finite = state.nonfinite_step < 0
    one = jnp.ones((), jnp.float32)
    for name, loss_fn in losses.items():
      part = new.part(name)
      grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
      (loss, aux), grads = grad_fn(part.params, new, batch, rngs, *args)
      updates, opt_state = part.tx.update(grads, part.opt_state, part.params)
      grad_norm = global_norm(grads)
      finite = finite & jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(
          global_norm(updates))
      new = new.replace_part(name, params=optax.apply_updates(part.params, updates),
                             opt_state=opt_state,
                             model_state=aux.get("model_state", part.model_state))
      if "extra" in aux:
        new = new.replace(extra=aux["extra"])
      metrics.update(_named({**aux["metrics"], "grad_norm": Average(grad_norm, one)}, name,
                            prefix))
    kept = keep_if_finite(finite, (new.parts, new.extra), (state.parts, state.extra))
    new_state = state.replace(
        parts=kept[0], extra=kept[1], step=state.step + finite.astype(state.step.dtype),
        nonfinite_step=jnp.where((state.nonfinite_step < 0) & ~finite, state.step,
                                 state.nonfinite_step))
    return new_state, PackedAverages.pack(metrics)

  return train_step


def compile_train_step(train_step: Callable, mesh: Mesh, *, num_args: int = 0,
                       state_sharding: Any = None, donate: bool = True) -> Callable:
  """jit over `mesh`: the state with `state_sharding` (replicated by default; per-parameter
  rules plug in here), the batch sharded on the `data` axis, `num_args` extra arguments
  replicated; the state is donated."""
  rep = mesh_lib.replicated(mesh)
  state_sharding = rep if state_sharding is None else state_sharding
  return jax.jit(train_step,
                 in_shardings=(state_sharding, mesh_lib.batch_sharding(mesh)) + (rep,) * num_args,
                 out_shardings=(state_sharding, rep), donate_argnums=(0,) if donate else ())


def compile_eval_step(eval_step: Callable, mesh: Mesh, *, num_args: int = 0,
                      state_sharding: Any = None) -> Callable:
  """jit of `eval_step(state, batch, *args) -> metrics` over `mesh` (nothing donated)."""
  rep = mesh_lib.replicated(mesh)
  state_sharding = rep if state_sharding is None else state_sharding
  return jax.jit(eval_step,
                 in_shardings=(state_sharding, mesh_lib.batch_sharding(mesh)) + (rep,) * num_args,
                 out_shardings=rep)
