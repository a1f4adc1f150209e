"""Trajectories of a stochastic policy over a batch of environments, under `lax.scan`.

`collect(env, policy_fn, params, env_state, obs, key, num_steps)` runs `num_steps` steps of all
`env.num_envs` environments: a ~ π(·|s) from `policy_fn(params, obs) -> (logits, value)`, then
`env.step`. It returns the time-major `Trajectory` [T, N, ...] and the carry (env_state, obs)
to continue from. Shared by REINFORCE, A2C and PPO.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.struct
import jax
import jax.numpy as jnp

from dlcore.metrics import Average
from dlcore.rl import policies


@flax.struct.dataclass
class Trajectory:
  obs: jax.Array
  action: jax.Array
  reward: jax.Array
  terminated: jax.Array
  truncated: jax.Array
  value: jax.Array
  log_prob: jax.Array
  final_obs: jax.Array
  episode_done: jax.Array
  episode_return: jax.Array
  episode_length: jax.Array

  @property
  def done(self) -> jax.Array:
    return self.terminated | self.truncated


def collect(env, policy_fn: Callable, params: Any, env_state: Any, obs: jax.Array,
            key: jax.Array, num_steps: int) -> tuple[tuple[Any, jax.Array], Trajectory]:
  """(env_state, obs) after `num_steps` steps, and the `Trajectory` of those steps."""

  def step(carry, k):
    env_state, obs = carry
    act_key, env_key = jax.random.split(k)
    logits, value = policy_fn(params, obs)
    action = policies.sample(act_key, logits)
    next_obs, env_state, reward, terminated, truncated, info = env.step(env_key, env_state,
                                                                        action)
    t = Trajectory(obs=obs, action=action, reward=reward, terminated=terminated,
                   truncated=truncated, value=value, log_prob=policies.log_prob(logits, action),
                   final_obs=info["final_observation"], episode_done=info["episode_done"],
                   episode_return=info["episode_return"], episode_length=info["episode_length"])
    return (env_state, next_obs), t

  return jax.lax.scan(step, (env_state, obs), jax.random.split(key, num_steps))


def episode_metrics(episode_done, episode_return, episode_length, mask=None) -> dict:
  """'return' and 'episode_length': the averages over the episodes that ended (optionally
  only where `mask`), as additive (total, count) pairs."""
  done = jnp.asarray(episode_done, jnp.float32)
  if mask is not None:
    done = done * mask
  n = done.sum()
  return {"return": Average((episode_return * done).sum(), n),
          "episode_length": Average((episode_length.astype(jnp.float32) * done).sum(), n)}
