"""REINFORCE on CartPole-v1 (RL-7, RL-5, LOSS-23): whole episodes in 8 environments per update,
the return-to-go R_t weighting ∇ log π(a_t|s_t), a learned baseline V(s_t) and standardised
weights, Adam 1e-3 (`--config.rl.baseline=False` for plain REINFORCE).

Command:  python -m launch.train --config configs/cartpole_reinforce.py \
            --workdir runs/cartpole_reinforce
Expected: mean greedy return over 100 episodes ≥ 400. Measured (seed 0): test 500.0 (std 0),
          the best agent after 1M simulated environment steps (25 updates of 8 whole episodes;
          the steps after an episode's end are simulated but masked).
Time:     19.8 s wall on the idle 2-core CPU (2M steps, 10 evaluations).
Curriculum: RL-5, RL-7, RL-11, LOSS-23.
"""

import ml_collections

from configs.defaults import rl


def get_config() -> ml_collections.ConfigDict:
  c = rl.get_config("reinforce")
  c.name = "cartpole_reinforce"
  c.env.num_envs = 8
  c.rl.update(total_timesteps=2_000_000, updates_per_step=10)
  return rl.keep_best_agent(c, every=5)
