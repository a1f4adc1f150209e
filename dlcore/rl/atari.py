"""Atari 2600 games (ale-py through gymnasium) behind the vectorised interface of `dlcore.rl.envs`.

`make_atari_env("ALE/Pong-v5", num_envs)` returns an `Env` whose `reset` and `step` are pure JAX
functions (usable inside `jit` and `lax.scan`) although the emulators run on the host: each call
is one ordered `jax.experimental.io_callback` into a host-side `_AtariHost` held by the closures.
The environment state JAX sees is `AtariState`, an int32 token [reset epoch, step count] that
each callback checks and advances: it makes the data dependence between steps explicit, and a
state used twice (the emulators cannot rewind), a state from another reset, or a step before any
reset is an error rather than a silently wrong rollout. Hence the caveats: `Env.vmappable` is
False (ordered callbacks cannot be vmapped, nor used under `shard_map`/`pmap`), each state can be
stepped once, the `key` of `step` is unused (the games' randomness, no-op counts and sticky
actions, is seeded by `reset(key)`: env i gets a seed drawn from the key's bits, so the same key
gives the same rollout for the same actions), and the envs are stepped one after another on the
calling host thread.

Preprocessing is the standard DQN/PPO one (Mnih et al. 2015; Machado et al. 2018; as cleanrl's
`ppo_atari.py` and `dqn_atari.py`), in this order on the base env (``frameskip=1``):

* no-op reset: a new game starts with 1..`noop_max` single NOOP frames (random count);
* FIRE on reset, for games whose action 1 is FIRE (Breakout, ...): FIRE then action 2, one agent
  step each, at the start of a game and of each life;
* frame skip: the agent's action is repeated for `frame_skip` frames, the rewards summed, and the
  observation is the pixel-wise max of the last two frames (Atari sprites flicker);
* 210x160 -> `screen_size` x `screen_size` grayscale (the ALE's luminance palette, area-averaged);
* the last `frame_stack` frames stacked on the last axis: obs is uint8 [N, 84, 84, 4];
* episodic life: a lost life is ``terminated`` (for learning), but the game goes on: one NOOP
  step (and FIRE), and the frame stack starts afresh; only a game over resets the game;
* reward clipping: the reward is sign(r) of the step's raw reward.

With ``observation="ram"`` the observation is the console's 128 bytes of RAM after each agent
step instead of the frame (the ball and paddle positions are RAM bytes): uint8 [N, 128, 4] with
the same stack, frame skip, no-op and life handling, for agents with an MLP (torso 'ram').

``info["episode_done"]`` marks a whole game ending (game over or the frame cap), not a lost life;
``episode_return`` is then the game's raw (unclipped) score, every frame counted, and
``episode_length`` its number of agent steps. ``truncated`` is the frame cap, counted in emulator
frames as the ALE does (`max_episode_steps` option, default 108,000 frames = 30 minutes of play;
no-op and FIRE frames count); `Env.max_episode_steps` is that cap in agent steps, ceil(frames /
frame_skip) = 27,000 by default.

Why not gymnasium's wrappers: `AtariPreprocessing` needs OpenCV (not a dependency of dlcore) for
its resize, calls the base env's `step` per frame (an RGB copy each), and its
`terminal_on_life_loss` ends the episode at a lost life, so an auto-resetting vector env restarts
the whole game; `FrameStackObservation` stacks on the first axis; `TransformReward` drops the raw
score that the episode statistics need. The same steps are therefore written here in numpy over
the base env's public ALE interface (`env.unwrapped.ale`); gymnasium still makes the env (ROM,
game modes, action set), and renders (`render_mode="rgb_array"`).

Options (keyword arguments of `make_atari_env`, or `make_env`): frame_skip=4, screen_size=84,
frame_stack=4, noop_max=30 (0: none), episodic_life=True, clip_rewards=True, sticky_actions=0.0
(the ALE's repeat_action_probability; Machado et al. recommend 0.25), max_episode_steps=108000
(emulator frames), observation='pixels' (or 'ram'). `env_names()` lists the accepted ids, the
ALE v5 ids, or [] without ale-py.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback

from dlcore.errors import ConfigError, DataError, first_line
from dlcore.registry import closest

DEFAULT_OPTIONS = {"frame_skip": 4, "screen_size": 84, "frame_stack": 4, "noop_max": 30,
                   "episodic_life": True, "clip_rewards": True, "sticky_actions": 0.0,
                   "max_episode_steps": 108_000, "observation": "pixels"}
OBSERVATIONS = ("pixels", "ram")
RAM_SIZE = 128  # bytes of the Atari 2600's RAM
_MINIMUM = {"frame_skip": 1, "screen_size": 1, "frame_stack": 1, "noop_max": 0,
            "max_episode_steps": 1}


@flax.struct.dataclass
class AtariState:
  """What JAX threads through `step`: int32 [reset epoch, step count], checked by the host."""
  token: jax.Array


@functools.cache
def _ale_v5_names() -> tuple[str, ...]:
  try:
    import ale_py  # noqa: F401  (importing it registers the ALE ids with gymnasium)
    import gymnasium
  except (ImportError, OSError):
    return ()
  return tuple(sorted(k for k in gymnasium.registry if k.startswith("ALE/") and k.endswith("-v5")))


def env_names() -> list[str]:
  """The Atari ids `make_atari_env` accepts: the ALE v5 ids ("ALE/Pong-v5", ...); [] when ale-py
  (or gymnasium) is not importable. Cached: the import costs a fraction of a second once."""
  return list(_ale_v5_names())


def atari_options(options: dict[str, Any]) -> dict[str, Any]:
  """`DEFAULT_OPTIONS` updated with `options`, checked: a ConfigError names a bad one."""
  unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
  if unknown:
    hints = [h for u in unknown for h in closest(u, DEFAULT_OPTIONS, n=1)]
    did_you_mean = f" Did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
    raise ConfigError(f"Unknown Atari env option{'s' if len(unknown) > 1 else ''} "
                      f"{', '.join(repr(u) for u in unknown)}.{did_you_mean} Valid options: "
                      f"{', '.join(DEFAULT_OPTIONS)}.")
  opts = {**DEFAULT_OPTIONS, **options}
  for key, minimum in _MINIMUM.items():
    v = opts[key]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < minimum:
      raise ConfigError(f"Atari env option {key} must be an int >= {minimum}, got {v!r}.")
    opts[key] = int(v)
  for key in ("episodic_life", "clip_rewards"):
    if not isinstance(opts[key], (bool, np.bool_)):
      raise ConfigError(f"Atari env option {key} must be True or False, got {opts[key]!r}.")
    opts[key] = bool(opts[key])
  p = opts["sticky_actions"]
  if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.number)) or \
      not 0.0 <= p <= 1.0:
    raise ConfigError(f"Atari env option sticky_actions must be a probability in [0, 1] (0.25 is "
                      f"the sticky-action protocol of Machado et al.), got {p!r}.")
  opts["sticky_actions"] = float(p)
  if opts["observation"] not in OBSERVATIONS:
    raise ConfigError(f"Atari env option observation must be 'pixels' (the screen) or 'ram' (the "
                      f"console's 128 bytes of RAM), got {opts['observation']!r}.")
  return opts


def observation_shape(opts: dict[str, Any]) -> tuple[int, ...]:
  """One copy's observation: (screen_size, screen_size, frame_stack) frames or
  (128, frame_stack) RAM snapshots, uint8."""
  if opts["observation"] == "ram":
    return (RAM_SIZE, opts["frame_stack"])
  return (opts["screen_size"], opts["screen_size"], opts["frame_stack"])


def _area_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
  """Area interpolation from `n_in` to `n_out` pixels (as OpenCV's INTER_AREA when shrinking):
  output pixel j is the mean of the input over [j, j + 1) * n_in / n_out, input pixels cut by the
  edges weighted by their overlap. As taps: out[j] = sum_k w[j, k] * in[index[j, k]], [n_out, k]
  each; a gather of <= 4 taps is ~50x faster than the dense matrix product (no BLAS threads)."""
  scale = n_in / n_out
  lo = np.arange(n_out)[:, None] * scale
  pixel = np.arange(n_in)[None, :]
  dense = np.clip(np.minimum(lo + scale, pixel + 1) - np.maximum(lo, pixel), 0.0, None)
  dense /= dense.sum(axis=1, keepdims=True)
  covered = dense > 0
  index = covered.argmax(axis=1)[:, None] + np.arange(covered.sum(axis=1).max())
  inside = index < n_in
  index = np.minimum(index, n_in - 1)
  weight = np.where(inside, np.take_along_axis(dense, index, axis=1), 0.0)
  return index, weight.astype(np.float32)


class _Game:
  """One ALE game with the preprocessing of the module docstring, on the host (numpy)."""

  def __init__(self, name: str, opts: dict[str, Any]):
    import ale_py  # noqa: F401  (registers the ALE ids with gymnasium)
    import gymnasium

    try:
      self.env = gymnasium.make(
          name, frameskip=1, repeat_action_probability=opts["sticky_actions"],
          max_num_frames_per_episode=opts["max_episode_steps"], full_action_space=False,
          render_mode="rgb_array", disable_env_checker=True)
    except Exception as e:  # a missing or unreadable ROM surfaces here, as various types
      raise DataError(f"Could not load the Atari game {name!r} ({first_line(e)}); reinstall "
                      f"ale-py>=0.9, whose wheel ships the ROMs, and unset ALE_ROMS_DIR unless "
                      f"it names a folder of them.") from e
    self.ale = self.env.unwrapped.ale
    self.actions = self.ale.getMinimalActionSet()
    meanings = self.env.unwrapped.get_action_meanings()
    self.fire_reset = len(meanings) >= 3 and meanings[1] == "FIRE"
    self.skip, self.noop_max = opts["frame_skip"], opts["noop_max"]
    self.episodic_life = opts["episodic_life"]
    h, w = self.ale.getScreenDims()
    size = opts["screen_size"]
    self.rows, self.cols = _area_taps(h, size), _area_taps(w, size)
    self.screens = np.zeros((2, h, w), np.uint8)  # the last two frames of a step, for max-pooling
    self.ram = opts["observation"] == "ram"
    self.stack = np.zeros(observation_shape(opts), np.uint8)
    self.lives = 0
    self.score = 0.0  # raw score of the current game, every frame counted
    self.length = 0  # agent steps of the current game

  @property
  def num_actions(self) -> int:
    return len(self.actions)

  def _advance(self, action: int) -> tuple[float, np.ndarray]:
    """Repeat `action` for `skip` frames (until the game ends): their raw reward, and the max of
    the last two frames in grayscale. The reward also goes to the game's score."""
    a = self.actions[action]
    reward, pooled = 0.0, False
    for t in range(self.skip):
      reward += self.ale.act(a)
      if self.ale.game_over():  # game over or the frame cap
        break
      if t == self.skip - 2:
        self.ale.getScreenGrayscale(self.screens[1])
        pooled = True
    self.ale.getScreenGrayscale(self.screens[0])
    self.score += reward
    return reward, np.maximum(self.screens[0], self.screens[1]) if pooled else self.screens[0]

  def _frame(self, gray: np.ndarray) -> np.ndarray:
    """The screen resized to `screen_size` squared (area interpolation), uint8."""
    (rows, row_w), (cols, col_w) = self.rows, self.cols
    x = (gray.astype(np.float32)[rows] * row_w[..., None]).sum(axis=1)
    return np.rint((x[:, cols] * col_w).sum(axis=-1)).astype(np.uint8)

  def _observe(self, gray: np.ndarray) -> np.ndarray:
    """The newest entry of the stack: the resized frame, or the RAM after the step."""
    return self.ale.getRAM() if self.ram else self._frame(gray)

  def _start_life(self, gray: np.ndarray) -> None:
    """FIRE where the game needs it; a fresh frame stack."""
    if self.fire_reset:
      self._advance(1)
      _, gray = self._advance(2)
    self.lives = self.ale.lives()
    self.stack[...] = self._observe(gray)[..., None]

  def reset(self, seed: int | None = None) -> None:
    """A new game (seeding the ALE and the no-op count's generator when `seed` is given)."""
    if seed is None:
      self.ale.reset_game()
    else:
      self.env.reset(seed=seed)
    self.score, self.length = 0.0, 0
    if self.noop_max:
      rng = self.env.unwrapped.np_random
      for _ in range(int(rng.integers(1, self.noop_max + 1))):
        self.score += self.ale.act(self.actions[0])  # NOOP, one frame
        if self.ale.game_over():
          self.ale.reset_game()
          self.score = 0.0
    self.ale.getScreenGrayscale(self.screens[0])
    self._start_life(self.screens[0])

  def step(self, action: int, final_obs: np.ndarray) -> tuple[float, bool, bool, bool, float,
                                                                int]:
    """One agent step: (raw reward, terminated, truncated, game ended, game score, game length so
    far). Writes the step's observation to `final_obs`; `self.stack` is then the next observation
    (after any reset)."""
    reward, gray = self._advance(action)
    self.length += 1
    self.stack[..., :-1] = self.stack[..., 1:]
    self.stack[..., -1] = self._observe(gray)
    final_obs[...] = self.stack
    game_over = self.ale.game_over(with_truncation=False)
    truncated = not game_over and self.ale.game_truncated()
    lives = self.ale.lives()
    life_lost = self.episodic_life and lives < self.lives
    self.lives = lives
    score, length = self.score, self.length
    if game_over or truncated:
      self.reset()
    elif life_lost:
      _, gray = self._advance(0)  # a NOOP step past the lost life, as cleanrl's EpisodicLifeEnv
      self._start_life(gray)
    return reward, game_over or life_lost, truncated, game_over or truncated, score, length


class _AtariHost:
  """The `num_envs` games of one `Env`, and the token that orders the callbacks into them."""

  def __init__(self, name: str, num_envs: int, opts: dict[str, Any]):
    self.name = name
    self.games = [_Game(name, opts) for _ in range(num_envs)]
    self.clip_rewards = opts["clip_rewards"]
    self.epoch, self.t = 0, 0  # epoch 0: not reset yet

  def _token(self) -> np.ndarray:
    return np.array([self.epoch, self.t], np.int32)

  def reset(self, key_data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    entropy = [int(x) for x in np.asarray(key_data, np.uint32).ravel()]
    seeds = np.random.SeedSequence(entropy).generate_state(len(self.games))
    for game, seed in zip(self.games, seeds):
      game.reset(int(seed))
    self.epoch, self.t = self.epoch % (2**31 - 1) + 1, 0
    return np.stack([g.stack for g in self.games]), self._token()

  def step(self, token: np.ndarray, action: np.ndarray):
    if self.epoch == 0:
      raise RuntimeError(f"Atari env {self.name}: call env.reset(key) before env.step.")
    if not np.array_equal(token, self._token()):
      raise RuntimeError(
          f"Atari env {self.name}: this state (token {token.tolist()}) is not the one the last "
          f"reset/step returned ({self._token().tolist()}); the games run on the host and cannot "
          f"rewind, so step each state once, in order, and reset after restoring a checkpoint.")
    num_actions = self.games[0].num_actions
    if np.any((action < 0) | (action >= num_actions)):
      raise ValueError(f"Atari env {self.name}: actions must be in [0, {num_actions}), got "
                       f"{action.tolist()}.")
    n = len(self.games)
    final_obs = np.empty((n, *self.games[0].stack.shape), np.uint8)
    reward = np.empty(n, np.float32)
    terminated, truncated, done = (np.empty(n, np.bool_) for _ in range(3))
    score, length = np.empty(n, np.float32), np.empty(n, np.int32)
    for i, game in enumerate(self.games):
      (reward[i], terminated[i], truncated[i], done[i], score[i],
       length[i]) = game.step(int(action[i]), final_obs[i])
    if self.clip_rewards:
      reward = np.sign(reward)
    self.t = (self.t + 1) % (2**31 - 1)
    obs = np.stack([g.stack for g in self.games])
    return obs, self._token(), reward, terminated, truncated, final_obs, done, score, length

  def render(self, index: int) -> np.ndarray:
    if not 0 <= index < len(self.games):
      raise IndexError(f"Atari env {self.name} has {len(self.games)} copies; got index {index}.")
    return np.asarray(self.games[index].env.unwrapped.render(), np.uint8)


def _import_ale() -> None:
  try:
    import ale_py  # noqa: F401
    import gymnasium  # noqa: F401
  except (ImportError, OSError) as e:
    raise ConfigError(f"Atari environments need gymnasium and ale-py ({first_line(e)}); install "
                      f"them with `pip install gymnasium ale-py`.") from e


def make_atari_env(name: str, num_envs: int, **options: Any):
  """The ALE game `name` as an `Env` of `num_envs` preprocessed copies (module docstring)."""
  from dlcore.rl.envs import Env, unknown_env

  opts = atari_options(options)
  if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
    raise ConfigError(f"env.num_envs must be an int >= 1, got {num_envs!r}.")
  _import_ale()
  if name not in _ale_v5_names():
    raise unknown_env(name)
  host = _AtariHost(name, num_envs, opts)
  n, shape = num_envs, observation_shape(opts)
  obs_spec = jax.ShapeDtypeStruct((n, *shape), jnp.uint8)
  token_spec = jax.ShapeDtypeStruct((2,), jnp.int32)
  per_env = lambda dtype: jax.ShapeDtypeStruct((n,), dtype)
  step_spec = (obs_spec, token_spec, per_env(jnp.float32), per_env(jnp.bool_),
               per_env(jnp.bool_), obs_spec, per_env(jnp.bool_), per_env(jnp.float32),
               per_env(jnp.int32))

  def reset(key):
    key = jnp.asarray(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
      key = jax.random.key_data(key)
    obs, token = io_callback(host.reset, (obs_spec, token_spec), key.astype(jnp.uint32),
                             ordered=True)
    return obs, AtariState(token)

  def step(key, state, action):
    del key  # the games' randomness is seeded by `reset` (module docstring)
    action = jnp.asarray(action)
    if action.shape != (n,):
      raise ValueError(f"Atari env {name}: step needs one action per copy, shape ({n},); got "
                       f"shape {action.shape}.")
    obs, token, reward, terminated, truncated, final_obs, done, ret, length = io_callback(
        host.step, step_spec, state.token, action.astype(jnp.int32), ordered=True)
    info = {"final_observation": final_obs, "episode_done": done, "episode_return": ret,
            "episode_length": length}
    return obs, AtariState(token), reward, terminated, truncated, info

  def render(state, index: int) -> np.ndarray:
    """The raw 210x160 RGB screen of copy `index` now (`state` names the env's current state)."""
    del state
    return host.render(index)

  return Env(name=name, num_envs=n, obs_shape=shape, obs_dtype=jnp.dtype(jnp.uint8),
             num_actions=host.games[0].num_actions, action_shape=(), reset=reset, step=step,
             max_episode_steps=-(-opts["max_episode_steps"] // opts["frame_skip"]),
             vmappable=False, render=render)
