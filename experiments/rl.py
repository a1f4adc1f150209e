"""Deep reinforcement learning (RL-1..12): DQN, REINFORCE, A2C and PPO on the shared loop.

The algorithm (`config.rl.algorithm`, `dlcore.rl.ALGORITHMS`) gives pure `init` and `update`
functions (`dlcore.rl.algorithm`). One step of the shared loop runs `rl.updates_per_step` update
cycles under `lax.scan`, each collecting experience inside the jitted step (the batch is None),
so the loop adds checkpoints (the environments' states, the replay buffer and the target
network included: a killed run resumes to the same result), logs, TensorBoard, evaluators and
plots. `rl.total_timesteps` environment steps set `train.num_steps`.

Sweeps (`config.sweep`: `learning_rate` and `gamma` lists, `seeds`): the agents of the grid
lr × γ × seeds train side by side as one jitted program, `vmap` over the agents with the
hyperparameters as traced values. Each setting's return is logged as `return/<label>`. An agent
whose loss or parameters become NaN/Inf (a learning rate too large) keeps its last good state
and drops out of the metrics (`diverged_agents` counts them per step), so one setting cannot
stop the others; a single agent's run stops with the loop's NaN error instead.

The state has one part, `agent` (the network's params and optimizer state); `extra` holds the
agent's carry (environment states, last observations, buffer, target parameters) and the
hyperparameters. The environment's name and spaces are a run asset (environment.json), so a
workdir trained on another environment (another observation shape) is one clear error before
any restore.

Evaluator types:
  'episodes':  mean/std/min/max undiscounted return of `num_episodes` episodes (100) of the
               greedy policy in fresh environments (per setting in a sweep);
  'animation': a GIF and a frame strip of one greedy episode (CartPole, MinAtar, Atari);
  'sweep':     return vs environment steps per setting (PNG) and the final returns (JSON).
"""

from __future__ import annotations

import itertools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.errors import ConfigError
from dlcore.evals import parse_evals
from dlcore.evals.episodes import animation_evaluator, episodes_evaluator, sweep_evaluator
from dlcore.metrics import Average, PackedAverages
from dlcore.models import build_model
from dlcore.registry import closest
from dlcore.rl import ALGORITHMS, DEFAULTS, make_env
from dlcore.train import mesh as mesh_lib
from dlcore.train.state import TrainState
from dlcore.train.step import global_norm, keep_if_finite, step_rngs
from dlcore.train.task import Task

AGENT = "agent"
COMMON = dict(algorithm="ppo", total_timesteps=500_000, updates_per_step=10)


def rl_settings(config) -> dict:
  """config.rl over the algorithm's defaults; an unknown key names the valid ones."""
  given = config.rl.to_dict()
  algorithm = given.get("algorithm", COMMON["algorithm"])
  ALGORITHMS.get(algorithm)  # unknown algorithm: ConfigError listing them
  valid = {**COMMON, **DEFAULTS[algorithm]}
  for key in given:
    if key not in valid:
      hint = closest(key, valid, n=1)
      raise ConfigError(f"Unknown key rl.{key} for {algorithm}"
                        + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f"; valid keys: {', '.join(sorted(valid))}.")
  return {**valid, **given}


def sweep_grid(config, defaults: dict) -> tuple[dict, list[str], bool]:
  """(hparams {name: [A] array}, a label per agent, batched): the lr × γ × seeds grid of
  `config.sweep`, or the one agent of `config.rl`."""
  sweep = config.get("sweep", None)
  sweep = sweep.to_dict() if sweep is not None else {}
  for key in sweep:
    if key not in ("learning_rate", "gamma", "seeds"):
      raise ConfigError(f"Unknown key sweep.{key}; valid keys: learning_rate, gamma, seeds.")
  if not sweep:
    return {k: jnp.float32(v) for k, v in defaults.items()}, ["agent"], False
  lrs = tuple(sweep.get("learning_rate", ()) or (defaults["learning_rate"],))
  gammas = tuple(sweep.get("gamma", ()) or (defaults["gamma"],))
  seeds = int(sweep.get("seeds", 1))
  grid = [(lr, g) for lr, g in itertools.product(lrs, gammas) for _ in range(seeds)]
  hparams = {"learning_rate": jnp.asarray([lr for lr, _ in grid], jnp.float32),
             "gamma": jnp.asarray([g for _, g in grid], jnp.float32)}
  return hparams, [f"lr={lr:g},gamma={g:g}" for lr, g in grid], True


def _summed(metrics: dict, axes: tuple) -> dict:
  return {k: Average(m.total.sum(axes), m.count.sum(axes)) for k, m in metrics.items()}


def make_task(config) -> Task:
  cfg = rl_settings(config)
  options = config.env.get("options", None)
  options = options.to_dict() if options is not None else {}
  env = make_env(config.env.name, int(config.env.num_envs), **options)
  if not env.discrete:
    raise ConfigError(f"{cfg['algorithm']} needs a discrete action space; {env.name} has "
                      f"continuous actions of shape {env.action_shape}. Choose a discrete "
                      f"environment (CartPole-v1, Acrobot-v1, MountainCar-v0, MinAtar, Atari).")
  network = build_model(config.model, env.num_actions)
  build = ALGORITHMS.get(cfg["algorithm"])
  per_update = build(cfg, env, network, 1).env_steps_per_update
  K = int(cfg["updates_per_step"])
  num_steps = max(1, math.ceil(int(cfg["total_timesteps"]) / (per_update * K)))
  algorithm = build(cfg, env, network, num_steps * K)
  hparams, labels, batched = sweep_grid(config, algorithm.hparams)
  if batched and not env.vmappable:
    raise ConfigError(f"A sweep trains agents with vmap; {env.name} runs on the host and cannot "
                      f"be vmapped. Sweep over a gymnax environment.")
  num_agents = len(labels)
  given = int(config.train.get("num_steps", 0) or 0)
  if given and given != num_steps:
    raise ConfigError(f"train.num_steps={given}, but an RL run's length is rl.total_timesteps "
                      f"({int(cfg['total_timesteps']):,} environment steps = {num_steps} steps of "
                      f"{per_update * K:,}); set rl.total_timesteps instead.")
  with config.unlocked():
    config.train.num_steps = num_steps
  update = jax.vmap(algorithm.update) if batched else algorithm.update
  groups = {label: np.asarray([l == label for l in labels]) for label in dict.fromkeys(labels)}

  def init(rng):
    train_key, agent_key = jax.random.split(rng)
    if batched:
      part, carry = jax.vmap(algorithm.init)(jax.random.split(agent_key, num_agents), hparams)
    else:
      part, carry = algorithm.init(agent_key, hparams)
    return TrainState.create(rng=train_key, parts={AGENT: part},
                             extra={"carry": carry, "hparams": hparams})

  def train_step(state, batch):
    del batch  # the experience is collected inside the step
    key = step_rngs(state.rng, state.step, ("env",))["env"]
    hp = state.extra["hparams"]

    def cycle(agent, k):
      part, carry = agent
      keys = jax.random.split(k, num_agents) if batched else k
      part, carry, metrics = update(part, carry, keys, hp)
      return (part, carry), metrics

    old_part, old_carry = state.part(AGENT), state.extra["carry"]
    (part, carry), stacked = jax.lax.scan(cycle, (old_part, old_carry), jax.random.split(key, K))
    finite = state.nonfinite_step < 0
    if batched:  # an agent whose loss or parameters went NaN/Inf keeps its last good state
      ok = jnp.isfinite(stacked["loss"].total.sum(0)) & jax.vmap(
          lambda p: jnp.isfinite(global_norm(p)))(part.params)
      keep = lambda new, old: jnp.where(ok.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)
      part, carry = jax.tree.map(keep, (part, carry), (old_part, old_carry))
      stacked = {k: Average(jnp.where(ok, m.total, 0.0), jnp.where(ok, m.count, 0.0))
                 for k, m in stacked.items()}
      metrics = _summed(stacked, (0, 1))
      metrics["diverged_agents"] = Average(num_agents - ok.sum().astype(jnp.float32),
                                           jnp.float32(1))
      if len(groups) > 1:
        for label, member in groups.items():
          ret = stacked["return"]
          metrics[f"return/{label}"] = Average((ret.total * member).sum(),
                                               (ret.count * member).sum())
    else:
      metrics = _summed(stacked, (0,))
      finite &= jnp.isfinite(metrics["loss"].total) & jnp.isfinite(global_norm(part.params))
    new_parts, new_extra = keep_if_finite(finite, ({AGENT: part}, dict(state.extra, carry=carry)),
                                          (state.parts, state.extra))
    new = state.replace(parts=new_parts, extra=new_extra,
                        step=state.step + finite.astype(state.step.dtype),
                        nonfinite_step=jnp.where((state.nonfinite_step < 0) & ~finite,
                                                 state.step, state.nonfinite_step))
    return new, PackedAverages.pack(metrics)

  env_steps_per_step = per_update * K * num_agents
  context = dict(env_name=env.name, options=options, algorithm=algorithm, labels=labels,
                 batched=batched, env_steps_per_step=per_update * K, seed=int(config.seed))
  specs = config.get("evals", None)
  specs = ({k: v.to_dict() for k, v in specs.items()} if specs else
           {"test": {"type": "episodes", "at_end": True}})
  evaluators = parse_evals(
      specs, {"episodes": lambda name, spec: episodes_evaluator(dict(spec, name=name), **context),
              "animation": lambda name, spec: animation_evaluator(dict(spec, name=name),
                                                                  **context),
              "sweep": lambda name, spec: sweep_evaluator(dict(spec, name=name), **context)},
      options={"episodes": ("num_episodes", "max_steps", "seed", "policy"),
               "animation": ("max_steps", "fps", "strip_frames", "seed"),
               "sweep": ("smooth",)},
      writes_files=("animation", "sweep"))
  spec = {"kind": "environment", "name": env.name, "obs_shape": list(env.obs_shape),
          "obs_dtype": str(env.obs_dtype), "num_actions": env.num_actions,
          "summary": f"{env.name}: observations {tuple(env.obs_shape)} {env.obs_dtype}, "
                     f"{env.num_actions} actions"}
  agents = f"{num_agents} agents ({len(groups)} settings) in one program, " if batched else ""
  return Task(config=config, mesh=mesh_lib.make_mesh(1), init=init, train_step=train_step,
              batches=None, evaluators=evaluators,
              plot_metrics=("return", "return_mean", "episode_length", "loss"), summary_part=AGENT,
              assets={"environment.json": json.dumps(spec, indent=2) + "\n"},
              summary={"rl": f"{cfg['algorithm']} on {env.name}: {agents}{env.num_envs} envs, "
                             f"{per_update * K} env steps per train step per agent, "
                             f"{num_steps} steps = {num_steps * per_update * K:,} env steps "
                             f"per agent ({num_steps * env_steps_per_step:,} in all)"})
