"""RL speed on the CPU: environment steps/s and the lr x γ sweep as one program.

  python -m benchmarks.rl_throughput [--envs 64] [--steps 500] [--updates 40]

Three reports:
  rollout  CartPole-v1 steps per second of random actions: a jitted, vmapped gymnax rollout
           under `lax.scan` (`--envs` copies) vs a Python loop over a gymnasium CartPole-v1
           (one copy, the classic API);
  ppo      end-to-end agent steps per second of PPO training (configs/cartpole_ppo_sweep.py's
           agent, 4 envs x 128 steps per update): compile time and steady-state run time;
  sweep    the same PPO run for the 16 agents of that config's 4 x 4 lr x γ grid, `vmap` over
           the agents in one jitted program: its time over the single agent's (target < 4).
Each timing is the median of `--repeats` runs after one compiling run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from configs import cartpole_ppo_sweep
from dlcore.models import build_model
from dlcore.rl import ALGORITHMS, make_env, make_train
from experiments.rl import rl_settings, sweep_grid


def timed(fn, repeats: int) -> tuple[float, float]:
  """(first call seconds, median of `repeats` later calls)."""
  t = time.perf_counter()
  jax.block_until_ready(fn())
  first = time.perf_counter() - t
  runs = []
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(fn())
    runs.append(time.perf_counter() - t)
  return first, statistics.median(runs)


def rollout_report(num_envs: int, steps: int, repeats: int) -> None:
  env = make_env("CartPole-v1", num_envs)

  @jax.jit
  def run(key):
    obs, state = env.reset(key)

    def step(s, k):
      a_key, e_key = jax.random.split(k)
      action = jax.random.randint(a_key, (num_envs,), 0, 2)
      _, s, r, *_ = env.step(e_key, s, action)
      return s, r.sum()

    return jax.lax.scan(step, state, jax.random.split(key, steps))[1].sum()

  _, jitted = timed(lambda: run(jax.random.PRNGKey(0)), repeats)
  import gymnasium
  genv = gymnasium.make("CartPole-v1")
  genv.reset(seed=0)
  rng = np.random.default_rng(0)
  n = steps * 4
  t = time.perf_counter()
  for _ in range(n):
    _, _, term, trunc, _ = genv.step(int(rng.integers(2)))
    if term or trunc:
      genv.reset()
  python = n / (time.perf_counter() - t)
  print(f"rollout: jitted gymnax {num_envs} envs x {steps} steps: "
        f"{num_envs * steps / jitted:,.0f} steps/s; python gymnasium loop: {python:,.0f} steps/s; "
        f"ratio {num_envs * steps / jitted / python:.1f}x")
  print(f"RESULT rollout jitted_steps_per_s={num_envs * steps / jitted:.0f} "
        f"python_steps_per_s={python:.0f}")


def ppo_reports(num_updates: int, repeats: int) -> None:
  config = cartpole_ppo_sweep.get_config()
  cfg = rl_settings(config)
  env = make_env(config.env.name, config.env.num_envs)
  algorithm = ALGORITHMS.get("ppo")(cfg, env, build_model(config.model, env.num_actions),
                                    num_updates)
  train = make_train(algorithm, num_updates)
  single_hp = {k: jnp.float32(v) for k, v in algorithm.hparams.items()}
  one = jax.jit(train)
  first1, run1 = timed(lambda: one(jax.random.PRNGKey(0), single_hp)[0].params, repeats)
  steps = num_updates * algorithm.env_steps_per_update
  print(f"ppo: 1 agent, {steps:,} env steps: compile+run {first1:.2f} s, run {run1:.2f} s = "
        f"{steps / run1:,.0f} agent steps/s")
  hparams, labels, _ = sweep_grid(config, algorithm.hparams)
  many = jax.jit(jax.vmap(train))
  keys = jax.random.split(jax.random.PRNGKey(0), len(labels))
  first16, run16 = timed(lambda: many(keys, hparams)[0].params, repeats)
  print(f"sweep: {len(labels)} agents in one program: compile+run {first16:.2f} s, run "
        f"{run16:.2f} s = {len(labels) * steps / run16:,.0f} agent steps/s; time ratio to one "
        f"agent {run16 / run1:.2f} (run), {first16 / first1:.2f} (with compilation); "
        f"target < 4: {'PASS' if run16 / run1 < 4 else 'FAIL'}")
  print(f"RESULT ppo agent_steps_per_s={steps / run1:.0f} sweep_agents={len(labels)} "
        f"sweep_ratio={run16 / run1:.2f} sweep_ratio_with_compile={first16 / first1:.2f}")


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--envs", type=int, default=64)
  p.add_argument("--steps", type=int, default=500)
  p.add_argument("--updates", type=int, default=40)
  p.add_argument("--repeats", type=int, default=3)
  a = p.parse_args()
  rollout_report(a.envs, a.steps, a.repeats)
  ppo_reports(a.updates, a.repeats)


if __name__ == "__main__":
  main()
