"""ARC-1 Rosenblatt perceptron and its error-driven learning rule (002 §2.1, eq.1, Algorithm 1).

  score(x)   = wᵀx + b
  predict(x) = sign(wᵀx + b) = +1 if >= 0 else -1            (ACT-2)
  init       w = 0, b = 0                                     (INIT-1)
  Algorithm 1 (labels y in {-1, +1}, learning rate η), not a gradient method:
    repeat: for i = 1..m in order: if y_i (wᵀx_i + b) <= 0: w += η y_i x_i; b += η y_i
    until an epoch makes no mistakes

`perceptron_fit` runs Algorithm 1 as a pure, jittable function (`lax.scan` over examples inside a
`lax.while_loop` over epochs), capped at `max_epochs` because it never stops on non-separable
data such as XOR.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.nn.activations import sign


@MODELS.register("perceptron")
class Perceptron(nn.Module):
  """ARC-1 linear score wᵀx + b over flattened inputs; params w: (d,), b: () start at zero."""
  num_outputs: int = 1

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    del train  # no dropout/BN; kept for a uniform model signature
    if self.num_outputs != 1:
      raise ConfigError(f"The perceptron is a binary classifier with one score, but "
                        f"num_outputs={self.num_outputs}; use labels in {{-1, +1}} or 0/1.")
    x = jnp.asarray(x)
    x = x.reshape(x.shape[0], -1)
    w = self.param("w", nn.initializers.zeros, (x.shape[-1],), jnp.float32)
    b = self.param("b", nn.initializers.zeros, (), jnp.float32)
    return x @ w + b

  def predict(self, x: jnp.ndarray) -> jnp.ndarray:
    """ACT-2: +1 where wᵀx + b >= 0, else -1. Call as `model.apply(v, x, method='predict')`."""
    return sign(self(x))


class PerceptronHistory(NamedTuple):
  """What `perceptron_fit` did.

  mistakes: (max_epochs,) int32, updates made in each epoch; epochs not run (after convergence)
    hold 0, which is also what they would count, since a converged perceptron no longer changes.
  epochs: number of epochs run (the last one is the error-free epoch when converged).
  converged: True when the last epoch run made no mistakes.
  """
  mistakes: jnp.ndarray
  epochs: jnp.ndarray
  converged: jnp.ndarray


def labels_to_pm1(labels: jnp.ndarray) -> jnp.ndarray:
  """Map 0/1 (or boolean) labels to the perceptron's -1/+1: y' = 2y - 1."""
  return 2 * jnp.asarray(labels, jnp.float32) - 1


def perceptron_epoch(w: jnp.ndarray, b: jnp.ndarray, x: jnp.ndarray, y: jnp.ndarray,
                     lr: jnp.ndarray):
  """One pass of Algorithm 1 over the examples in order; returns (w, b, mistakes)."""

  def visit(carry, example):
    w, b, mistakes = carry
    xi, yi = example
    wrong = yi * (xi @ w + b) <= 0
    step = jnp.where(wrong, lr * yi, 0.0)
    return (w + step * xi, b + step, mistakes + wrong.astype(jnp.int32)), None

  (w, b, mistakes), _ = lax.scan(visit, (w, b, jnp.int32(0)), (x, y))
  return w, b, mistakes


@functools.partial(jax.jit, static_argnames=("max_epochs",))
def perceptron_fit(params: Any, x: jnp.ndarray, y: jnp.ndarray, learning_rate: float = 1.0,
                   max_epochs: int = 100) -> tuple[Any, PerceptronHistory]:
  """Algorithm 1 of 002 §2.1 from `params` until an error-free epoch or `max_epochs`.

  params: `Perceptron().init(...)` variables ({'params': {'w', 'b'}}) or the inner {'w', 'b'}; the
    result has the same structure. x: (m, ...) examples (flattened); y: (m,) labels in {-1, +1}.
  """
  inner = params["params"] if "params" in params else params
  x = jnp.asarray(x, jnp.float32).reshape(x.shape[0], -1)
  y = jnp.asarray(y, jnp.float32).reshape(-1)
  lr = jnp.asarray(learning_rate, jnp.float32)

  def cond(state):
    _, _, epoch, _, last = state
    return (epoch < max_epochs) & (last > 0)

  def body(state):
    w, b, epoch, history, _ = state
    w, b, mistakes = perceptron_epoch(w, b, x, y, lr)
    return w, b, epoch + 1, history.at[epoch].set(mistakes), mistakes

  init = (jnp.asarray(inner["w"], jnp.float32), jnp.asarray(inner["b"], jnp.float32), jnp.int32(0),
          jnp.zeros((max_epochs,), jnp.int32), jnp.int32(1))
  w, b, epochs, history, last = lax.while_loop(cond, body, init)
  new = {"w": w, "b": b}
  new = {"params": new} if "params" in params else new
  return new, PerceptronHistory(history, epochs, last == 0)
