"""DQN on CartPole-v1 (RL-6, LOSS-24): experience replay (10k transitions), a target network
copied every 50 gradient steps (500 environment steps), ε from 1 to 0.05 over half the run,
one Huber TD step of 128 transitions every 10 environment steps after 10k warm-up steps, Adam
2.5e-4, a 120-84 ReLU Q-network (cleanrl's dqn.py settings). `--config.rl.double=True` for
Double DQN.

The greedy agent is evaluated on 100 episodes every 10 steps (50k environment steps) and the
best evaluated agent is kept (DQN's return oscillates late in training).

Command:  python -m launch.train --config configs/cartpole_dqn.py --workdir runs/cartpole_dqn
Expected: mean greedy return over 100 episodes ≥ 475. Measured (seed 0): test 500.0 (std 0),
          the best agent after 350k environment steps.
Time:     35 s wall on the idle 2-core CPU (500k steps, 10 evaluations).
Curriculum: RL-6, RL-10, RL-11, LOSS-24; concept question 002 §11.1.5.
"""

import ml_collections

from configs.defaults import rl


def get_config() -> ml_collections.ConfigDict:
  c = rl.get_config("dqn")
  c.name = "cartpole_dqn"
  c.env.num_envs = 1
  c.rl.update(total_timesteps=500_000, updates_per_step=500)
  return rl.keep_best_agent(c, every=10)
