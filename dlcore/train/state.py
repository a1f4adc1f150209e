"""The training state: one pytree holding everything a step reads and writes."""

from __future__ import annotations

from typing import Any, Callable

import flax.struct
import jax
import jax.numpy as jnp
import optax

from dlcore.optim.ema import ema_params


@flax.struct.dataclass
class TrainState:
  """params, optimizer state, mutable model state (e.g. BatchNorm `batch_stats`), step, RNG key.

  `nonfinite_step` is -1 while every loss so far was finite; the first step whose loss or
  gradient is NaN/Inf is recorded there and from then on updates are skipped, so the state
  keeps the last good values (the loop then saves it and stops with an error).
  `apply_fn` and `tx` are static (not saved in checkpoints).
  """
  step: jax.Array
  params: Any
  opt_state: Any
  model_state: Any
  rng: jax.Array
  nonfinite_step: jax.Array
  apply_fn: Callable = flax.struct.field(pytree_node=False)
  tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)

  @classmethod
  def create(cls, *, apply_fn: Callable, params: Any, tx: optax.GradientTransformation,
             rng: jax.Array, model_state: Any = None) -> "TrainState":
    return cls(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
               model_state=model_state if model_state is not None else {}, rng=rng,
               nonfinite_step=jnp.full((), -1, jnp.int32), apply_fn=apply_fn, tx=tx)

  def variables(self) -> dict:
    """The Flax variables dict {'params': ..., **model_state} for `apply_fn`."""
    return {"params": self.params, **self.model_state}

  def eval_params(self) -> Any:
    """The parameters to evaluate and export: the EMA θ̄ when the optimizer keeps one
    (`optimizer.ema_decay > 0`, see `dlcore.optim.param_ema`), else `params`."""
    ema = ema_params(self.opt_state)
    return self.params if ema is None else ema

  def eval_variables(self) -> dict:
    """`variables()` with `eval_params()` in place of `params`."""
    return {"params": self.eval_params(), **self.model_state}
