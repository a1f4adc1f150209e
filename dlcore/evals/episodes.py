"""Evaluators of RL agents (RL-12): returns over fresh episodes, an animation, the sweep plot.

- `episodes_evaluator`: the undiscounted return of `num_episodes` episodes (100) of the greedy
  policy (`policy='greedy'`) or of the stochastic policy the agent trained with
  (`policy='sampled'`, a ~ π(·|s): REINFORCE, A2C, PPO), one episode in each of
  `num_episodes` fresh environments stepped together under `lax.scan` for at most `max_steps`
  (the episode limit). Each evaluator has its own seed (from
  its name, or `seed`), so a periodic 'eval' that picks the best agent and the final 'test'
  play different episodes. Mean, std, min and max; in a sweep,
  the mean of each setting too (`return_mean/<label>`).
- `animation_evaluator`: one greedy episode as `<workdir>/plots/<name>.gif` and a strip of
  frames `<name>_strip.png` (frames from the observations, `dlcore.viz.episode`, or from the
  Atari screen). In a sweep, the first agent.
- `sweep_evaluator`: `return/<label>` of metrics.jsonl against environment steps, one panel per
  γ with a line per learning rate (`plots/<name>.png`), and each setting's final training return
  (the mean of its last `smooth` logged values) in `<name>.json`.
"""

from __future__ import annotations

import collections
import json
import pathlib
import zlib

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.errors import ConfigError
from dlcore.rl.envs import make_env
from dlcore.train.metric_logger import read_metrics
from dlcore.viz import episode as episode_viz

AGENT = "agent"


def _agent_params(state, batched: bool, index: int | None = None):
  params = state.part(AGENT).params
  if batched and index is not None:
    params = jax.tree.map(lambda x: x[index], params)
  return params


def play_episodes(env, act, max_steps: int):
  """play(params, key) -> (returns, lengths, finished), each [num_envs]: the first episode of
  every environment under the policy `act(params, obs, key)`."""

  def play(params, key):
    reset_key, run_key = jax.random.split(key)
    obs, env_state = env.reset(reset_key)
    zeros = jnp.zeros((env.num_envs,), jnp.float32)
    init = (obs, env_state, zeros, zeros.astype(jnp.int32), jnp.zeros((env.num_envs,), bool))

    def step(carry, k):
      obs, env_state, ret, length, finished = carry
      # the env keeps step key k (greedy evaluations are unchanged); the policy draws from
      # fold_in(k, 1)
      action = act(params, obs, jax.random.fold_in(k, 1))
      obs, env_state, _, _, _, info = env.step(k, env_state, action)
      newly = info["episode_done"] & ~finished
      ret = jnp.where(newly, info["episode_return"], ret)
      length = jnp.where(newly, info["episode_length"], length)
      return (obs, env_state, ret, length, finished | newly), None

    (_, _, ret, length, finished), _ = jax.lax.scan(step, init, jax.random.split(run_key,
                                                                                  max_steps))
    return ret, length, finished

  return play


def policy_fn(algorithm, policy: str, name: str):
  """act(params, obs, key) of evaluation `policy` 'greedy' or 'sampled'."""
  if policy == "greedy":
    return lambda params, obs, key: algorithm.act(params, obs)
  if policy != "sampled":
    raise ConfigError(f"evals.{name}.policy={policy!r} is unknown; use 'greedy' or 'sampled'.")
  if algorithm.sample_act is None:
    raise ConfigError(f"evals.{name}.policy='sampled' needs a stochastic policy; "
                      f"{algorithm.name}'s is greedy (use policy='greedy').")
  return algorithm.sample_act


def episodes_evaluator(spec: dict, *, env_name, options, algorithm, labels, batched,
                       env_steps_per_step, seed, **_):
  n = int(spec.get("num_episodes", 100))
  name = str(spec.get("name", "episodes"))
  act = policy_fn(algorithm, str(spec.get("policy", "greedy")), name)
  cache = {}

  def compiled():
    if "play" not in cache:  # the environments are built on first use (Atari: host emulators)
      env = make_env(env_name, n, **options)
      max_steps = int(spec.get("max_steps", 0)) or env.max_episode_steps
      play = play_episodes(env, act, max_steps)
      cache["play"] = jax.jit(jax.vmap(play, in_axes=(0, None)) if batched else play)
    return cache["play"]

  def run(state, args, workdir=None):
    default_seed = seed + 10_000 + zlib.crc32(name.encode()) % 997
    key = jax.random.PRNGKey(int(spec.get("seed", default_seed)))
    ret, length, finished = jax.device_get(compiled()(_agent_params(state, batched), key))
    ret, length, finished = (np.asarray(a).reshape(-1, n) for a in (ret, length, finished))
    done = ret[finished]
    out = {"return_mean": float(done.mean()) if done.size else float("nan"),
           "return_std": float(done.std()) if done.size else float("nan"),
           "return_min": float(done.min()) if done.size else float("nan"),
           "return_max": float(done.max()) if done.size else float("nan"),
           "episode_length": float(length[finished].mean()) if done.size else float("nan"),
           "num_episodes": int(finished.sum()), "unfinished": int((~finished).sum()),
           "env_steps": int(jax.device_get(state.step)) * env_steps_per_step}
    if batched:
      by_label = collections.defaultdict(list)
      for i, label in enumerate(labels):
        by_label[label].extend(ret[i][finished[i]].tolist())
      if len(by_label) > 1:
        out.update({f"return_mean/{k}": float(np.mean(v)) if v else float("nan")
                    for k, v in by_label.items()})
    return out

  return run


def animation_evaluator(spec: dict, *, env_name, options, algorithm, batched, seed, **_):
  fps = int(spec.get("fps", 30))

  def run(state, args, workdir=None):
    if workdir is None:
      return {}
    env = make_env(env_name, 1, **options)
    if env.render is None and episode_viz.frame_from_obs(env_name, np.zeros(env.obs_shape)) is None:
      raise ConfigError(f"evals: no drawing of {env_name} for an animation; remove the "
                        f"'animation' evaluator or use CartPole, Acrobot, MountainCar, MinAtar "
                        f"or Atari.")
    params = _agent_params(state, batched, 0)
    max_steps = int(spec.get("max_steps", 0)) or env.max_episode_steps

    @jax.jit
    def step(obs, env_state, key):
      action = algorithm.act(params, obs)
      obs2, env_state, reward, _, _, info = env.step(key, env_state, action)
      return obs2, env_state, reward, info["episode_done"], info["final_observation"]

    key = jax.random.PRNGKey(int(spec.get("seed", seed + 20_000)))
    obs, env_state = env.reset(key)
    draw = (lambda o, s: env.render(s, 0)) if env.render is not None else (
        lambda o, s: episode_viz.frame_from_obs(env_name, np.asarray(o)[0]))
    frames, total = [draw(obs, env_state)], 0.0
    for t in range(max_steps):
      obs, env_state, reward, done, final = step(obs, env_state, jax.random.fold_in(key, t))
      total += float(reward[0])
      if bool(done[0]):
        if env.render is None:
          frames.append(draw(final, env_state))
        break
      frames.append(draw(obs, env_state))
    out_dir = pathlib.Path(workdir) / "plots"
    name = spec.get("name", "episode")
    gif = episode_viz.save_gif(frames, out_dir / f"{name}.gif", fps)
    strip = episode_viz.save_strip(frames, out_dir / f"{name}_strip.png",
                                   int(spec.get("strip_frames", 8)))
    return {"animation_steps": len(frames) - 1, "animation_reward": total, "gif": str(gif),
            "strip": str(strip)}

  return run


def sweep_evaluator(spec: dict, *, labels, env_steps_per_step, **_):
  smooth = int(spec.get("smooth", 10))

  def run(state, args, workdir=None):
    if workdir is None:
      return {}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    events = [e for e in read_metrics(pathlib.Path(workdir) / "metrics.jsonl")
              if e.get("split") == "train"]
    settings = list(dict.fromkeys(labels))
    series = {}
    for label in settings:
      points = [(e["step"] * env_steps_per_step, e[f"return/{label}"]) for e in events
                if np.isfinite(e.get(f"return/{label}", np.nan))]
      series[label] = points
    parse = lambda label: dict(kv.split("=") for kv in label.split(","))
    gammas = sorted({parse(s)["gamma"] for s in settings}, key=float)
    fig, axes = plt.subplots(1, len(gammas), figsize=(4.2 * len(gammas), 3.6), sharey=True,
                             squeeze=False)
    for ax, g in zip(axes[0], gammas):
      for label in settings:
        if parse(label)["gamma"] == g and series[label]:
          xs, ys = zip(*series[label])
          ax.plot(xs, ys, label=f"lr {parse(label)['lr']}")
      ax.set_title(f"γ = {g}")
      ax.set_xlabel("environment steps")
      ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
      ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("training return")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    out_dir = pathlib.Path(workdir) / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    name = spec.get("name", "sweep")
    png = out_dir / f"{name}.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    final = {label: float(np.mean([y for _, y in pts[-smooth:]])) if pts else float("nan")
             for label, pts in series.items()}
    (out_dir / f"{name}.json").write_text(json.dumps(final, indent=2) + "\n")
    best = max(final, key=lambda k: -np.inf if np.isnan(final[k]) else final[k])
    return {"plot": str(png), "best_setting": best, "best_final_return": final[best]}

  return run
