"""The training state: one pytree holding everything a step reads and writes.

A state has named *parts*, each trained by gradient with its own optimizer: a single model is
the part ``model``; a GAN has ``generator`` and ``discriminator``. Each `Part` keeps its
``params``, its ``opt_state``, its mutable model collections (``model_state``, e.g. BatchNorm
``batch_stats``) and its static Optax ``tx`` (not saved in checkpoints).

What gradients do not train lives in ``extra``, one pytree chosen by the task: target-network
parameters, a replay buffer, environment state, a recurrent carry.

``nonfinite_step`` is -1 while every step so far was finite. The first step whose loss,
gradient or update is NaN/Inf is recorded there; from then on updates are skipped, so the
state keeps the last good values (the loop then saves it and stops with an error).
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.struct
import jax
import jax.numpy as jnp
import optax

from dlcore.optim.ema import ema_params

MODEL = "model"  # the name of the part of a single-model task


@flax.struct.dataclass
class Part:
  """One gradient-trained component: params, optimizer state, model state, static optimizer."""
  params: Any
  opt_state: Any
  model_state: Any
  tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)

  @classmethod
  def create(cls, params: Any, tx: optax.GradientTransformation,
             model_state: Any = None) -> "Part":
    return cls(params=params, opt_state=tx.init(params),
               model_state={} if model_state is None else model_state, tx=tx)

  def eval_params(self) -> Any:
    """The parameters to evaluate and export: the EMA θ̄ when the optimizer keeps one
    (`optimizer.ema_decay > 0`, see `dlcore.optim.param_ema`), else `params`."""
    ema = ema_params(self.opt_state)
    return self.params if ema is None else ema

  def variables(self) -> dict:
    """The Flax variables {'params': ..., **model_state} to `apply` this part's module."""
    return {"params": self.params, **self.model_state}

  def eval_variables(self) -> dict:
    """`variables()` with `eval_params()` in place of `params`."""
    return {"params": self.eval_params(), **self.model_state}


@flax.struct.dataclass
class TrainState:
  """step, RNG key, named parts, extra (not trained by gradient) and the NaN/Inf record."""
  step: jax.Array
  rng: jax.Array
  parts: dict[str, Part]
  extra: Any
  nonfinite_step: jax.Array

  @classmethod
  def create(cls, *, rng: jax.Array, parts: Mapping[str, Part] | None = None,
             params: Any = None, tx: optax.GradientTransformation | None = None,
             model_state: Any = None, extra: Any = None) -> "TrainState":
    """A fresh state at step 0: either `parts` {name: Part}, or one part `model` from
    `params`, `tx` and `model_state`."""
    if parts is None:
      if tx is None:
        raise ValueError("TrainState.create needs parts=... or params= and tx=.")
      parts = {MODEL: Part.create(params, tx, model_state)}
    return cls(step=jnp.zeros((), jnp.int32), rng=rng, parts=dict(parts),
               extra={} if extra is None else extra, nonfinite_step=jnp.full((), -1, jnp.int32))

  def part(self, name: str = MODEL) -> Part:
    if name not in self.parts:
      raise KeyError(f"the state has no part {name!r}; its parts: {', '.join(self.parts)}")
    return self.parts[name]

  def replace_part(self, name: str, **changes: Any) -> "TrainState":
    return self.replace(parts={**self.parts, name: self.part(name).replace(**changes)})

  # The single-model shortcuts (part `model`).
  @property
  def params(self) -> Any:
    return self.part().params

  @property
  def opt_state(self) -> Any:
    return self.part().opt_state

  @property
  def model_state(self) -> Any:
    return self.part().model_state

  @property
  def tx(self) -> optax.GradientTransformation:
    return self.part().tx

  def variables(self, name: str = MODEL) -> dict:
    return self.part(name).variables()

  def eval_params(self, name: str = MODEL) -> Any:
    return self.part(name).eval_params()

  def eval_variables(self, name: str = MODEL) -> dict:
    return self.part(name).eval_variables()
