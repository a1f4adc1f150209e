"""PPO on Atari Pong through ale-py (RL-9, RL-11): the standard preprocessing (no-op reset,
frame skip 4 with a 2-frame max, 84x84 grayscale, 4-frame stack, episodic life, reward
clipping; `dlcore.rl.atari`), the Nature-DQN CNN shared by actor and critic, 8 environments x
128 steps per rollout, 4 epochs of 4 minibatches, clip 0.1 with value clipping, entropy 0.01,
Adam 2.5e-4 annealed, 10M environment steps (cleanrl's ppo_atari.py settings).

The emulators run on the host through `io_callback` inside the jitted rollout, so a run cannot
be vmapped and a resumed run restarts its games (the emulators cannot be checkpointed).

Command:  python -m launch.train --config configs/atari_pong_ppo.py --workdir runs/atari_pong_ppo
Expected: cleanrl reaches an episodic return of 20.4 at 10M steps (GPU, about 3 h). On the
          2-core CPU a run is far slower; the README gives the CPU-budget figures measured.
Time:     see the README (RL section); the emulators alone step at about 1,000 agent steps/s
          for 8 envs (one host thread).
Curriculum: RL-9, RL-11, DS-17.
"""

import ml_collections

from configs.defaults import D, rl


def get_config() -> ml_collections.ConfigDict:
  c = rl.get_config("ppo")
  c.name = "atari_pong_ppo"
  c.env.update(name="ALE/Pong-v5", num_envs=8)
  c.model.update(torso="nature", shared=True)
  c.rl.update(total_timesteps=10_000_000, updates_per_step=1, clip_eps=0.1, clip_value=True,
              bootstrap_truncated=False)
  c.train.update(log_every=1, checkpoint_every=20)
  c.evals.test.update(num_episodes=8)
  c.evals.animation = D(dict(type="animation", max_steps=3000, fps=30, at_end=True))
  return c
