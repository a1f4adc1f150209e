"""DDPM on MNIST (ARC-34, LAY-22, ARC-16): a small U-Net (2x2 patches as channels, levels of 32
and 64 channels at 14x14 and 7x7, skip connections, a sinusoidal timestep embedding) predicts
ε under the linear β schedule (T = 1000, 1e-4 .. 0.02); Adam 1e-3 with an EMA (0.999) of the
parameters for sampling, batch 64, 10,000 steps (10.7 epochs). Samples by 50 DDIM steps (η = 0,
Song et al. 2021) on the respaced schedule (x̂_0 clipped to [-1, 1]); 10,000 samples judged by
the same classifier as configs/mnist_dcgan.py (`dlcore.evals.sample_quality`).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_ddpm.py --workdir runs/mnist_ddpm
Expected: (measured, 10,000 samples) FID (MNIST classifier) 35.2 (real train images vs test:
            0.86), Inception-style score 6.33 (real: 9.70), confident share (p > 0.9) 0.61
            (real: 0.97): BELOW the 0.90 target; digit-shaped strokes, many malformed. Final
            ε-MSE 0.030. (2,500 steps, channels 24/48, 20 ancestral steps: FID 88.7 and 0.19
            with a 500-step judge.)
Time:     31 min 52 s of training on the 2-core CPU (4-9 steps/s, shared with other jobs for
            much of it), then 4 min 10 s to draw 10,000 samples x 50 steps and 1 min 30 s for
            the judge.
Curriculum: ARC-34, LAY-22, ARC-16, GEN-7.
"""

import ml_collections

from configs.defaults import diffusion


def get_config() -> ml_collections.ConfigDict:
  c = diffusion.get_config()
  c.name = "mnist_ddpm"
  c.model.update(channels=(32, 64), patch=2)
  c.diffusion.update(sampler="ddim", sampling_steps=50, clip_x0=True)
  c.train.update(batch_size=64, num_steps=10000, log_every=250, checkpoint_every=2500)
  c.evals.samples.every = 2500
  return c
