"""DQN on Atari Breakout through ale-py (RL-6, LOSS-24; Mnih et al. 2015): the standard
preprocessing (`dlcore.rl.atari`), the Nature-DQN CNN, one gradient step of 32 transitions
every 4 environment steps after 80k warm-up steps, the target network copied every 250
gradient steps (1000 environment steps), ε from 1 to 0.01 over the first 10% of 10M steps, Adam
1e-4 (cleanrl's dqn_atari.py settings), with one change: the replay buffer holds 100k
transitions instead of 1M, because each stores two 84x84x4 frames stacks (56 KB) and 1M would
need 56 GB; 100k need 5.6 GB.

Command:  python -m launch.train --config configs/atari_breakout_dqn.py \
            --workdir runs/atari_breakout_dqn
Expected: cleanrl's dqn_atari reaches about 350 on Breakout at 10M steps (GPU); this config
          has not been run to the end on the 2-core CPU (days).
Time:     not run to the end. The emulators step at about 1,000 agent steps/s for 8 envs
          (one host thread); 10M steps with a Nature-CNN update every 4 steps is days of CPU.
Curriculum: RL-6, RL-10, RL-11, LOSS-24.
"""

import ml_collections

from configs.defaults import rl


def get_config() -> ml_collections.ConfigDict:
  c = rl.get_config("dqn")
  c.name = "atari_breakout_dqn"
  c.env.update(name="ALE/Breakout-v5", num_envs=1)
  c.model.update(torso="nature", features=(), activation="relu")
  c.rl.update(total_timesteps=10_000_000, updates_per_step=1000, learning_rate=1e-4,
              buffer_size=100_000, batch_size=32, learning_starts=80_000, train_frequency=4,
              target_update_every=250, end_epsilon=0.01, exploration_fraction=0.1)
  c.train.update(log_every=1, checkpoint_every=10)
  c.evals.test.update(num_episodes=8)
  return c
