"""Vectorised environments behind one interface, chosen by name (RL-11).

Every environment is a batch of `num_envs` copies stepped together, with auto-reset::

  env.reset(key) -> (obs [N, *obs_shape], state)
  env.step(key, state, action [N]) -> (obs, state, reward [N], terminated [N], truncated [N], info)

`obs` after an episode's end is already the first observation of the next episode; the last
observation of the ended episode is ``info["final_observation"]`` (bootstrapping a truncated
episode needs it). ``info`` also has the episode statistics: ``episode_done`` [N] (a whole
episode ended at this step: for Atari a game, not a life), ``episode_return`` [N] and
``episode_length`` [N] (the undiscounted, unclipped return and length of the episode that ended,
valid where ``episode_done``).

Both are pure functions of arrays, usable inside `jit`, `vmap` and `lax.scan`: gymnax
environments are JAX code; Atari (ale-py through gymnasium, `dlcore.rl.atari`) runs on the host
through `io_callback`, so the same jitted rollout drives it (but it cannot be vmapped).

Names: every gymnax id (CartPole-v1, Acrobot-v1, MountainCar-v0, Breakout-MinAtar, ...) and the
ALE ids of `dlcore.rl.atari` (ALE/Pong-v5, ALE/Breakout-v5, ...). An unknown name lists them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.struct
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.registry import closest


@flax.struct.dataclass
class EpisodeStats:
  """Running return and length of each copy's current episode."""
  episode_return: jax.Array
  episode_length: jax.Array


@flax.struct.dataclass
class GymnaxState:
  env_state: Any
  stats: EpisodeStats


@dataclasses.dataclass(frozen=True)
class Env:
  """A batch of `num_envs` environments: `reset`, `step` (module docstring), and the spaces.

  `num_actions` is the number of discrete actions, or None for a continuous action space
  (`action_shape` then gives its shape)."""
  name: str
  num_envs: int
  obs_shape: tuple
  obs_dtype: Any
  num_actions: int | None
  action_shape: tuple
  reset: Callable
  step: Callable
  max_episode_steps: int
  vmappable: bool = True
  render: Callable | None = None  # render(state, index) -> RGB uint8 frame, where available

  @property
  def discrete(self) -> bool:
    return self.num_actions is not None


def gymnax_names() -> list[str]:
  import gymnax
  return list(gymnax.registered_envs)


def env_names() -> list[str]:
  """Every name `make_env` accepts."""
  from dlcore.rl import atari
  return gymnax_names() + atari.env_names()


def unknown_env(name: str) -> ConfigError:
  names = env_names()
  hint = closest(name, names)
  did_you_mean = f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
  return ConfigError(f"Unknown environment {name!r}.{did_you_mean} Valid environments: "
                     f"{', '.join(names)}.")


def make_env(name: str, num_envs: int, **options: Any) -> Env:
  """The environment `name` as a batch of `num_envs` (module docstring). `options` go to the
  Atari adapter (frame skip, sticky actions, ...); gymnax environments take none."""
  if not isinstance(num_envs, int) or num_envs < 1:
    raise ConfigError(f"env.num_envs must be an int >= 1, got {num_envs!r}.")
  if name in gymnax_names():
    if options:
      raise ConfigError(f"The gymnax environment {name!r} takes no options; got "
                        f"{', '.join(sorted(options))}.")
    return _gymnax_env(name, num_envs)
  from dlcore.rl import atari
  if name in atari.env_names():
    return atari.make_atari_env(name, num_envs, **options)
  raise unknown_env(name)


def _gymnax_env(name: str, num_envs: int) -> Env:
  import gymnax
  from gymnax.environments import spaces

  env, params = gymnax.make(name)
  obs_space = env.observation_space(params)
  action_space = env.action_space(params)
  discrete = isinstance(action_space, spaces.Discrete)
  one_reset = lambda key: env.reset(key, params)
  one_step = lambda key, s, a: env.step(key, s, a, params)

  def reset(key):
    obs, env_state = jax.vmap(one_reset)(jax.random.split(key, num_envs))
    zeros = jnp.zeros((num_envs,), jnp.float32)
    return obs, GymnaxState(env_state, EpisodeStats(zeros, zeros.astype(jnp.int32)))

  def step(key, state, action):
    obs, env_state, reward, terminated, truncated, info = jax.vmap(one_step)(
        jax.random.split(key, num_envs), state.env_state, action)
    reward = reward.astype(jnp.float32)
    done = terminated | truncated
    ret = state.stats.episode_return + reward
    length = state.stats.episode_length + 1
    stats = EpisodeStats(jnp.where(done, 0.0, ret), jnp.where(done, 0, length))
    info = {"final_observation": info["final_observation"], "episode_done": done,
            "episode_return": ret, "episode_length": length}
    return obs, GymnaxState(env_state, stats), reward, terminated, truncated, info

  return Env(name=name, num_envs=num_envs, obs_shape=tuple(obs_space.shape),
             obs_dtype=jnp.dtype(obs_space.dtype),
             num_actions=int(action_space.n) if discrete else None,
             action_shape=() if discrete else tuple(action_space.shape),
             reset=reset, step=step, max_episode_steps=int(getattr(params, "max_steps_in_episode",
                                                                   1000)))
