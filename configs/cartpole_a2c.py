"""A2C on CartPole-v1 (RL-8): advantage A = Q − V with n-step returns (n = 5, GAE λ = 1) over 8
environments, one RMSprop (7e-4) step per rollout, value coefficient 0.5, gradient norm 0.5,
64-64 tanh actor and critic (the rl-baselines3-zoo settings).

The greedy agent is evaluated on 100 episodes every 10 steps and the best evaluated agent kept.

Command:  python -m launch.train --config configs/cartpole_a2c.py --workdir runs/cartpole_a2c
Expected: mean greedy return over 100 episodes ≥ 475. Measured (seed 0): test 500.0 (std 0),
          the best agent after 150k environment steps.
Time:     10.5 s wall on the idle 2-core CPU (500k steps, 10 evaluations).
Curriculum: RL-8, RL-11, LOSS-23.
"""

import ml_collections

from configs.defaults import rl


def get_config() -> ml_collections.ConfigDict:
  c = rl.get_config("a2c")
  c.name = "cartpole_a2c"
  c.env.num_envs = 8
  c.rl.update(total_timesteps=500_000, updates_per_step=250)
  return rl.keep_best_agent(c, every=5)
