"""PPO on Atari Pong from the console's RAM, a CPU-budget run (RL-9, RL-11): the ale-py game with
the standard frame skip 4, no-op reset, episodic life and reward clipping
(`dlcore.rl.atari`), but the observation is the 128 bytes of RAM of the last 4 agent steps
(uint8 [128, 4]) instead of 84x84 frames, so the agent is two separate 256-256 ReLU MLPs (actor
and critic; torso 'ram', bytes scaled to [0, 1]) and the 2-core CPU spends its time in the
emulators rather than in XLA's CPU convolutions (the Nature CNN of configs/atari_pong_ppo.py
trains at about 15 agent steps/s here). 8 environments x 128 steps, 4 epochs of 4 minibatches,
clip 0.1, entropy 0.01, Adam 2.5e-4 annealed; 2M agent steps (8M frames).

Command:  python -m launch.train --config configs/atari_pong_ram_ppo.py \
            --workdir runs/atari_pong_ram_ppo
Expected: learning, i.e. the mean training return rising from about −21 (a random policy's
          −20.7). Measured: −18.4 over the first 164k steps, −9.6 at 1.15M, −8.0 at 2M.
          At 1M steps (--config.rl.total_timesteps=1000000, 13 min 52 s idle): training
          return −19.05 → −17.23, greedy test −10.75 ± 5.8 over 8 games.
Time:     about 32 min of running (68 min 34 s wall with 36 min paused), 1,100-2,300 agent
          steps/s on one core beside another training.
Curriculum: RL-9, RL-11, DS-17.
"""

import ml_collections

from configs import atari_pong_ppo


def get_config() -> ml_collections.ConfigDict:
  c = atari_pong_ppo.get_config()
  c.name = "atari_pong_ram_ppo"
  c.env.options = ml_collections.ConfigDict(dict(observation="ram"))
  c.model.update(torso="ram", features=(256, 256), activation="relu", shared=False)
  c.rl.update(total_timesteps=2_000_000, updates_per_step=4)
  c.train.update(log_every=1, checkpoint_every=10)
  return c
