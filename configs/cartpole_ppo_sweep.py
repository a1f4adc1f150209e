"""The seed's learning-rate x discount study (002 §11.3, RL-12, HPO-5): PPO on CartPole-v1 for
a 4 x 4 grid of learning rate x γ, 16 agents trained side by side as one jitted program (`vmap`
over the agents, the hyperparameters as traced values), each for 200k environment steps.

Each setting's training return is logged as `return/lr=...,gamma=...`; the 'sweep' evaluator
plots return vs environment steps per setting (plots/sweep.png, one panel per γ) and writes
each setting's final return (plots/sweep.json); 'test' evaluates every agent greedily on 100
episodes (`return_mean/<setting>`). `--config.sweep.seeds=2` trains two agents per setting.

Command:  python -m launch.train --config configs/cartpole_ppo_sweep.py \
            --workdir runs/cartpole_ppo_sweep
Expected: the findings and the time ratio to a single agent are in the README (RL section).
Time:     see the README (RL section).
Curriculum: RL-12, HPO-5.
"""

import ml_collections

from configs.defaults import D, rl


def get_config() -> ml_collections.ConfigDict:
  c = rl.get_config("ppo")
  c.name = "cartpole_ppo_sweep"
  c.rl.update(total_timesteps=200_000, updates_per_step=10)
  c.train.log_every = 2
  c.sweep = D(dict(learning_rate=(1e-4, 3e-4, 1e-3, 3e-3), gamma=(0.9, 0.95, 0.99, 0.999),
                   seeds=1))
  c.evals.sweep = D(dict(type="sweep", smooth=5, at_end=True))
  return c
