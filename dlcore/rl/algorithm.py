"""What an RL algorithm gives the trainer, and `make_train`: a whole run as one pure function.

An `Algorithm` is two pure functions over an agent, the pair (part, carry):

- `init(key, hparams) -> (part, carry)`: the network's `Part` (params, optimizer state, static
  tx) and everything else the agent carries between updates (environment states and the last
  observations, a replay buffer, target-network parameters, the update counter);
- `update(part, carry, key, hparams) -> (part, carry, metrics)`: one update cycle (collect
  experience by acting, then learn from it), with metrics as additive `Average`s.

`hparams` is a dict of scalar arrays ({'learning_rate', 'gamma'}): traced values, not constants,
so `jax.vmap` over agents with different hyperparameters compiles one program (the lr × γ sweep).
`act(params, obs) -> action` is the greedy policy used for evaluation; `sample_act(params, obs,
key)`, where the agent has a stochastic policy (REINFORCE, A2C, PPO: a ~ π(·|s)), is the one it
was trained with, for an evaluation with `policy='sampled'`.

`make_train(algorithm, num_updates)(key, hparams)` is the purejaxrl form: init, then every update
under `lax.scan`; `jit(vmap(train))` trains a population at once. The trainer
(`experiments/rl.py`) runs the same `update` a few cycles per step of the shared loop instead,
for checkpoints, logs, evaluations and resume.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax

from dlcore.registry import Registry

ALGORITHMS: Registry = Registry("RL algorithm")


@dataclasses.dataclass(frozen=True)
class Algorithm:
  name: str
  init: Callable[[jax.Array, dict], tuple[Any, Any]]
  update: Callable[[Any, Any, jax.Array, dict], tuple[Any, Any, dict]]
  act: Callable[[Any, jax.Array], jax.Array]
  env_steps_per_update: int
  hparams: dict  # the default {'learning_rate': float, 'gamma': float}
  sample_act: Callable[[Any, jax.Array, jax.Array], jax.Array] | None = None


def make_train(algorithm: Algorithm, num_updates: int) -> Callable:
  """train(key, hparams) -> (part, carry, metrics stacked over updates)."""

  def train(key, hparams):
    init_key, run_key = jax.random.split(key)
    part, carry = algorithm.init(init_key, hparams)

    def cycle(state, k):
      part, carry = state
      part, carry, metrics = algorithm.update(part, carry, k, hparams)
      return (part, carry), metrics

    (part, carry), metrics = jax.lax.scan(cycle, (part, carry),
                                          jax.random.split(run_key, num_updates))
    return part, carry, metrics

  return train
