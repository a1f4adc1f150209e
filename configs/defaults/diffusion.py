"""Default of the diffusion family (`experiment='diffusion'`, experiments/diffusion.py): a DDPM
with a small U-Net on MNIST.

Sections:
  name, experiment, seed
  data:      name ('mnist'), data_dir, path, num_train (0: all 60,000)
  model:     name 'unet': channels (one per level), groups (GroupNorm), patch (2x2 blocks as
             channels when 2)
  diffusion: schedule ('linear' or 'cosine'), num_steps (T), beta_start, beta_end (linear),
             sampling_steps (0: all T; K < T: the respaced schedule), sampler ('ancestral'
             or 'ddim'), variance ('beta' or 'posterior'; ancestral), eta (DDIM: 0 is
             deterministic), clip_x0
  optimizer: Adam with an EMA of the parameters used for sampling (ema_decay)
  evals:     'samples' (grid from fixed noise every `every` steps), 'quality' (FID (MNIST
             classifier), Inception-style score, confident share of `num_samples` samples)
  train:     batch_size, num_steps, log_every, checkpoint_every, ...
  mesh:      num_devices (1)
"""

import ml_collections

from configs.defaults import D, image_generation
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = image_generation("diffusion", ("loss", "min"), sample_every=1000)
  c.model = D(dict(name="unet", channels=(16, 32, 64), groups=8, patch=1))
  c.diffusion = D(dict(schedule="linear", num_steps=1000, beta_start=1e-4, beta_end=0.02,
                       sampling_steps=0, sampler="ancestral", variance="beta", eta=0.0,
                       clip_x0=False))
  c.optimizer = optimizer_config("adam", 1e-3, grad_clip_norm=1.0, ema_decay=0.999)
  return c
