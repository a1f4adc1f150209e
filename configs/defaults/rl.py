"""Default of deep RL (`experiment='rl'`, experiments/rl.py): PPO on gymnax CartPole-v1.

`get_config(algorithm)` gives every key of that algorithm (`dlcore.rl.DEFAULTS`), so any of them
can be set from the command line (`--config.rl.clip_eps=0.1`).

Sections:
  name, experiment, seed
  env:    name (a gymnax id or an ALE id; `dlcore.rl.env_names()`), num_envs, options (Atari)
  model:  name ('actor_critic' or 'q_network'), features, activation, torso (mlp/minatar/nature),
          initialization (orthogonal/lecun: dlcore/models/rl.py)
  rl:     algorithm (dqn/reinforce/a2c/ppo), total_timesteps (environment steps per agent),
          updates_per_step (update cycles per step of the loop), then the algorithm's own keys
  sweep:  learning_rate and gamma lists, seeds (empty: one agent)
  evals:  'test' (100 episodes at the end; policy 'greedy', or 'sampled' for a ~ π(·|s));
          'eval', 'animation', 'sweep' where used
  train:  num_steps (set from rl.total_timesteps), log_every, checkpoint_every, progress
  early_stopping: the evaluation return (tracked; `restore_best` keeps the best evaluated agent)
  mesh:   num_devices (an RL run uses one device)
"""

import ml_collections

from configs.defaults import D, family
from dlcore.rl import DEFAULTS

COMMON = dict(total_timesteps=500_000, updates_per_step=10)
MODELS = {"dqn": dict(name="q_network", features=(120, 84), activation="relu", torso="mlp",
                      initialization="orthogonal"),
          "ppo": dict(name="actor_critic", features=(64, 64), activation="tanh", torso="mlp",
                      shared=False, initialization="orthogonal")}


def get_config(algorithm: str = "ppo") -> ml_collections.ConfigDict:
  c = family("rl", env=D(dict(name="CartPole-v1", num_envs=4, options=D())),
             model=D(MODELS.get(algorithm, MODELS["ppo"])),
             rl=D(dict(algorithm=algorithm, **COMMON, **DEFAULTS[algorithm])),
             train=dict(log_every=10, checkpoint_every=100, progress=False),
             watch=("return_mean", "max"))
  c.sweep = D()
  c.evals = D({"test": D(dict(type="episodes", num_episodes=100, policy="greedy",
                              at_end=True))})
  c.mesh.num_devices = 1
  return c


def keep_best_agent(c: ml_collections.ConfigDict, every: int) -> ml_collections.ConfigDict:
  """Evaluate the greedy agent on 100 episodes every `every` steps ('eval'), keep the best
  evaluated agent, and log and checkpoint every step (RL runs have few, long steps)."""
  c.train.update(log_every=1, checkpoint_every=10)
  c.evals.eval = D(dict(type="episodes", num_episodes=100, every=every, at_end=False))
  c.early_stopping.update(eval="eval", restore_best=True)
  return c
