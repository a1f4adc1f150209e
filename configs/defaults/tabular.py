"""Default of tabular RL (`experiment='tabular'`, experiments/tabular.py): value iteration on
a 5x5 gridworld with a goal, a pit and two walls.

Sections:
  name, experiment, seed
  mdp:     rows, cols, slip (probability of moving sideways), step_reward, goal_reward,
           pit_reward, goals / walls / pits ((row, col) cells), start, gamma
  tabular: algorithm (value_iteration/q_learning), tol (value iteration's stopping change),
           steps_per_train_step, alpha, epsilon, omega (α_t = alpha / n(s,a)^omega),
           max_episode_steps, exploring_starts (Q-learning)
  train:   num_steps (the most sweeps or chunks), log_every, checkpoint_every
  evals:   'test': the exact values and the error of the run's values
"""

import ml_collections

from configs.defaults import D, family


def get_config() -> ml_collections.ConfigDict:
  c = family("tabular",
             mdp=D(dict(rows=5, cols=5, slip=0.0, step_reward=-1.0, goal_reward=0.0,
                        pit_reward=-10.0, goals=((0, 4),), walls=((1, 1), (3, 3)),
                        pits=((2, 2),), start=(4, 0), gamma=0.9)),
             tabular=D(dict(algorithm="value_iteration", tol=1e-6, steps_per_train_step=1000,
                            alpha=0.5, epsilon=0.5, omega=0.0, max_episode_steps=50,
                            exploring_starts=True)),
             train=dict(num_steps=1000, log_every=1, checkpoint_every=100, progress=False),
             watch=("max_abs_error", "min"))
  c.mesh.num_devices = 1
  return c
