"""PPO on MinAtar Breakout (gymnax Breakout-MinAtar, 10x10x4 boolean grids): a shared torso of
Conv 16 3x3 + Dense 64-64 ReLU, 64 environments x 128 steps per rollout, 4 epochs of 8
minibatches, Adam 5e-4 annealed, entropy 0.01, 10M environment steps (purejaxrl's MinAtar
settings).

Command:  python -m launch.train --config configs/minatar_breakout_ppo.py \
            --workdir runs/minatar_breakout_ppo
Expected: mean greedy return over 100 episodes ≥ 28 (the gymnax-blines PPO checkpoint); measured
          figures in the README.
Time:     see the README (RL section).
Curriculum: RL-9, RL-11.
"""

import ml_collections

from configs.defaults import D, rl


def get_config() -> ml_collections.ConfigDict:
  c = rl.get_config("ppo")
  c.name = "minatar_breakout_ppo"
  c.env.update(name="Breakout-MinAtar", num_envs=64)
  c.model.update(torso="minatar", activation="relu", features=(64, 64), shared=True)
  c.rl.update(total_timesteps=10_000_000, updates_per_step=10, learning_rate=5e-4,
              num_minibatches=8)
  c.evals.animation = D(dict(type="animation", max_steps=1000, at_end=True))
  return c
