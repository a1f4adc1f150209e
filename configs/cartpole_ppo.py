"""PPO on CartPole-v1 (RL-9, LOSS-27): the clipped surrogate (ε 0.2), GAE(γ 0.99, λ 0.95), 4
epochs of 4 minibatches per rollout of 16 envs x 64 steps, entropy bonus 0.01, Adam 2.5e-4
annealed to 0, 64-64 tanh actor and critic (purejaxrl's CartPole settings, with 16 envs x 64
steps in place of 4 x 128: the same 4 epochs x 4 minibatches, twice the steps per update, which
costs the CPU nearly nothing more per update). 1M environment steps.

The greedy agent plays 100 episodes every 10 steps ('eval'); the best evaluated agent is kept,
and 'test' then plays 100 other episodes; 'animation' writes plots/animation.gif and
plots/animation_strip.png, one greedy episode.

Command:  python -m launch.train --config configs/cartpole_ppo.py --workdir runs/cartpole_ppo
Expected: mean greedy return over the 100 test episodes ≥ 475 (500 is the cap).
Measured: seeds 0-4 all ≥ 475 on the test episodes (500, 500, 500, 500, 499.8); the best agent
          came after 205k-512k environment steps.
Time:     16.7-18.3 s wall for the whole command on the idle 2-core CPU (seeds 0, 1: import,
          compilation, 1M steps, 10 evaluations of 100 episodes, the test, the GIF); 12.7-14.1 s
          for seeds 0-4 before the animation and the per-step logs were added.
Curriculum: RL-9, RL-11, LOSS-27.
"""

import ml_collections

from configs.defaults import D, rl


def get_config() -> ml_collections.ConfigDict:
  c = rl.get_config("ppo")
  c.name = "cartpole_ppo"
  c.env.num_envs = 16
  c.rl.update(total_timesteps=1_000_000, num_steps=64)
  c.evals.animation = D(dict(type="animation", fps=50, at_end=True))
  return rl.keep_best_agent(c, every=10)
