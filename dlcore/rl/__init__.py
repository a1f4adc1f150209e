"""Deep reinforcement learning (curriculum §7, RL-1..12).

  envs:         vectorised environments by name (gymnax; Atari through ale-py in `atari`)
  returns:      return-to-go, n-step returns, GAE, truncation bootstrap
  policies:     the categorical policy, ε-greedy and its schedule
  buffer:       experience replay as device arrays
  rollout:      trajectories under `lax.scan`, episode statistics
  optim:        the agents' Optax chains, with the learning rate as an array
  algorithm:    the `Algorithm` protocol and `make_train` (a whole run as one function)
  dqn, reinforce, actor_critic (A2C and PPO): the algorithms, registered in `ALGORITHMS`
  tabular:      MDPs as arrays, value iteration, linear-solve values, tabular Q-learning

Layer: dlcore.rl uses dlcore.models' networks and dlcore.train.state's `Part`; dlcore.evals
and experiments use dlcore.rl; dlcore.train never does.
"""

from dlcore.rl.algorithm import ALGORITHMS, Algorithm, make_train
from dlcore.rl import actor_critic, dqn, reinforce  # noqa: E402  (register the algorithms)
from dlcore.rl.envs import Env, env_names, make_env

DEFAULTS = {"dqn": dqn.DEFAULTS, "reinforce": reinforce.DEFAULTS, **actor_critic.DEFAULTS}

__all__ = ["ALGORITHMS", "Algorithm", "DEFAULTS", "Env", "env_names", "make_env", "make_train"]
