"""Atari (ale-py through gymnasium) behind dlcore's env interface: jitted rollouts, episodic life
versus game over, reward clipping, option errors and seeding (dlcore.rl.atari)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.errors import ConfigError
from dlcore.rl import atari, envs

pytestmark = pytest.mark.skipif(not atari.env_names(), reason="needs gymnasium and ale-py")

INFO_KEYS = {"final_observation", "episode_done", "episode_return", "episode_length"}


def rollout(env, seed: int, steps: int):
  """reset(key) then `steps` uniformly random actions, all in one jitted `lax.scan`: the first
  observation, the last state, and the per-step outputs stacked on a leading time axis."""

  def body(carry, k):
    obs, state = carry
    action = jax.random.randint(k, (env.num_envs,), 0, env.num_actions)
    obs, state, reward, terminated, truncated, info = env.step(k, state, action)
    return (obs, state), dict(obs=obs, action=action, reward=reward, terminated=terminated,
                              truncated=truncated, **info)

  @jax.jit
  def run(key):
    reset_key, step_key = jax.random.split(key)
    obs, state = env.reset(reset_key)
    (_, state), out = jax.lax.scan(body, (obs, state), jax.random.split(step_key, steps))
    return obs, state, out

  obs, state, out = run(jax.random.key(seed))
  return np.asarray(obs), state, jax.tree.map(np.asarray, out)


def test_names():
  names = atari.env_names()
  assert {"ALE/Pong-v5", "ALE/Breakout-v5"} <= set(names) and names == atari.env_names()
  assert set(names) <= set(envs.env_names())


def test_pong_shapes_dtypes_under_jit_and_scan():
  env = envs.make_env("ALE/Pong-v5", 2)
  assert (env.obs_shape, env.obs_dtype, env.num_actions, env.action_shape) == (
      (84, 84, 4), jnp.uint8, 6, ())
  assert not env.vmappable and env.max_episode_steps == 108_000 // 4
  obs0, state, out = rollout(env, 0, 20)
  assert obs0.shape == (2, 84, 84, 4) and obs0.dtype == np.uint8 and obs0.max() > 0
  assert (obs0 == obs0[..., :1]).all()  # a fresh stack: the first frame four times
  assert out["obs"].shape == out["final_observation"].shape == (20, 2, 84, 84, 4)
  assert out["obs"].dtype == out["final_observation"].dtype == np.uint8
  assert set(out) - {"obs", "action", "reward", "terminated", "truncated"} == INFO_KEYS
  for key, dtype in [("reward", np.float32), ("terminated", np.bool_), ("truncated", np.bool_),
                     ("episode_done", np.bool_), ("episode_return", np.float32),
                     ("episode_length", np.int32)]:
    assert out[key].shape == (20, 2) and out[key].dtype == dtype, key
  # No point is played in 20 steps: the stack shifts by one frame per step, no episode ends.
  assert not out["episode_done"].any() and not out["terminated"].any()
  np.testing.assert_array_equal(out["obs"], out["final_observation"])
  np.testing.assert_array_equal(out["obs"][1:, ..., :3], out["obs"][:-1, ..., 1:])
  np.testing.assert_array_equal(out["episode_length"], np.arange(1, 21)[:, None].repeat(2, 1))
  frame = env.render(state, 1)
  assert frame.shape == (210, 160, 3) and frame.dtype == np.uint8


def test_same_key_same_rollout_and_copies_differ():
  env = envs.make_env("ALE/Breakout-v5", 2)
  first = rollout(env, 3, 30)
  again = rollout(env, 3, 30)  # the same env object, reset again with the same key
  other = rollout(envs.make_env("ALE/Breakout-v5", 2), 3, 30)
  for run in (again, other):
    np.testing.assert_array_equal(run[0], first[0])
    np.testing.assert_array_equal(run[2]["obs"], first[2]["obs"])
  assert not np.array_equal(first[2]["obs"][:, 0], first[2]["obs"][:, 1])  # own seeds, actions


@pytest.fixture(scope="module")
def breakout_game():
  """One Breakout game to its end, raw rewards: with this key, random play scores 2 and loses its
  5th life at step 185 (other keys: 0..5 points in 115..330 steps)."""
  env = envs.make_env("ALE/Breakout-v5", 1, clip_rewards=False)
  _, _, out = rollout(env, 0, 250)
  return jax.tree.map(lambda x: x[:, 0], out)


def test_episodic_life_is_terminated_but_not_game_over(breakout_game):
  out = breakout_game
  assert out["episode_done"].any(), "random play should finish a Breakout game in 250 steps"
  end = int(np.argmax(out["episode_done"]))
  lost = np.flatnonzero(out["terminated"][:end + 1])
  # Each of the 5 lives ends in `terminated`; only the last is the game's end.
  assert len(lost) == 5 and lost[-1] == end
  assert not out["episode_done"][lost[:-1]].any() and not out["truncated"][:end + 1].any()
  first = lost[0]
  assert not np.array_equal(out["obs"][first], out["final_observation"][first])
  assert (out["obs"][first] == out["obs"][first][..., :1]).all()  # a fresh stack after a life
  # The game's statistics: its raw score (every step's unclipped reward) and agent steps.
  assert out["episode_return"][end] == out["reward"][:end + 1].sum() > 0
  assert out["episode_length"][end] == end + 1
  assert out["episode_length"][end + 1] == 1  # the next game started


def test_reward_clipping_and_raw_rewards():
  """Space Invaders scores 5..30 per alien: clip_rewards gives sign(r), the same game otherwise."""
  raw = rollout(envs.make_env("ALE/SpaceInvaders-v5", 1, clip_rewards=False), 2, 100)[2]
  clipped = rollout(envs.make_env("ALE/SpaceInvaders-v5", 1), 2, 100)[2]
  assert raw["reward"].max() > 1
  np.testing.assert_array_equal(clipped["reward"], np.sign(raw["reward"]))
  np.testing.assert_array_equal(clipped["obs"], raw["obs"])
  np.testing.assert_array_equal(clipped["episode_return"], raw["episode_return"])


def test_without_episodic_life_only_game_over_terminates():
  env = envs.make_env("ALE/Breakout-v5", 1, episodic_life=False, noop_max=0, frame_skip=8)
  out = jax.tree.map(lambda x: x[:, 0], rollout(env, 0, 150)[2])
  assert out["episode_done"].any()  # with this key: a game over at step 86
  np.testing.assert_array_equal(out["terminated"], out["episode_done"])


def test_options_and_names_are_checked():
  with pytest.raises(ConfigError, match=r"'frameskip'.*Did you mean 'frame_skip'.*Valid options"):
    envs.make_env("ALE/Pong-v5", 1, frameskip=4)
  with pytest.raises(ConfigError, match="frame_stack must be an int >= 1, got 0"):
    atari.make_atari_env("ALE/Pong-v5", 1, frame_stack=0)
  with pytest.raises(ConfigError, match="sticky_actions must be a probability"):
    atari.make_atari_env("ALE/Pong-v5", 1, sticky_actions=2.0)
  with pytest.raises(ConfigError, match="Did you mean 'ALE/Pong-v5'"):
    atari.make_atari_env("ALE/Pongg-v5", 1)


def test_a_state_steps_once():
  env = envs.make_env("ALE/Pong-v5", 1, sticky_actions=0.25, screen_size=64, frame_stack=2)
  obs, state = env.reset(jax.random.key(0))
  assert obs.shape == (1, 64, 64, 2)
  action = jnp.zeros((1,), jnp.int32)
  env.step(None, state, action)
  with pytest.raises(RuntimeError, match="cannot rewind"):  # jax's error wraps the host's
    jax.block_until_ready(env.step(None, state, action))


def test_frame_cap_truncates_the_game():
  """max_episode_steps counts emulator frames (no-op frames included): 120 frames of Pong end in
  `truncated` (not `terminated`) within 30 agent steps, a game end with its statistics."""
  env = envs.make_env("ALE/Pong-v5", 1, max_episode_steps=120)
  assert env.max_episode_steps == 30
  out = jax.tree.map(lambda x: x[:, 0], rollout(env, 0, 40)[2])
  end = int(np.argmax(out["truncated"]))
  assert out["truncated"].any() and end < 30 and not out["terminated"].any()
  assert out["episode_done"][end] and out["episode_length"][end] == end + 1
  assert out["episode_length"][end + 1] == 1
