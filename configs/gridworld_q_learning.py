"""Tabular Q-learning on the 5x5 gridworld of gridworld_value_iteration.py (RL-4, RL-6's
underlying method, RL-10): ε-greedy (ε 0.5) with exploring starts, constant α 0.5 (exact in a
deterministic grid), 1000 steps per training step, 20 training steps.

Command:  python -m launch.train --config configs/gridworld_q_learning.py \
            --workdir runs/gridworld_q_learning
Expected: policy_optimal 1 (the greedy policy has the optimal values) and max |Q − Q*| ≤ 1e-2.
Measured: policy_optimal 1, max |Q − Q*| = 2.6e-6.
Time:     4 s wall.
Curriculum: RL-4, RL-10.
"""

import ml_collections

from configs.defaults import tabular


def get_config() -> ml_collections.ConfigDict:
  c = tabular.get_config()
  c.name = "gridworld_q_learning"
  c.tabular.algorithm = "q_learning"
  c.train.num_steps = 20
  return c
