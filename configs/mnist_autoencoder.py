"""Three MLP autoencoders on MNIST compared (ARC-29, ARC-30, ARC-31; LOSS-16, LOSS-18): each
784-256-32-256-784 (ReLU, 32-unit code), squared reconstruction error ||x − σ(l)||² summed over
the 784 pixels in [0, 1], Adam 1e-3, batches of 128, 5 epochs, mesh of 1 device:
  plain      the code linear, clean inputs;
  denoising  masking noise: each training pixel zeroed with probability 0.3 (drawn on device in
             the step, 'noise' rng stream), the target the clean image; evaluated on clean images;
  sparse     sigmoid codes, + 1.0 · Σ_j KL(0.05 || ρ̂_j), ρ̂_j the batch mean of code unit j.
Each variant writes reconstructions, a latent traversal and a PCA scatter of its codes into
<workdir>/<variant>/plots/; comparison.md has the test reconstruction error per image.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_autoencoder.py --workdir runs/mnist_autoencoder
Expected: test reconstruction error ||x − x̂||² per image (sum over 784 pixels) on the 10,000
          clean test images: plain 6.456, sparse 10.68 (its KL penalty 1.34 on top), denoising
          11.07 (trained on masked inputs, so worse on clean reconstruction, but it restores
          masked digits: see denoising/plots/reconstructions.png). 2,340 steps per variant.
Time:     2 min 22 s wall for the three variants (42-51 s each) on the 2-core CPU, one run at
          a time under the CPU lock.
Curriculum: ARC-29, ARC-30, ARC-31, LOSS-16, LOSS-18.
"""

import ml_collections

from configs.defaults import autoencoder, comparison

D = ml_collections.ConfigDict
VARIANTS = {
    "plain": D(),
    "denoising": D(dict(noise=D(dict(type="masking", level=0.3)))),
    "sparse": D(dict(model=D(dict(code_activation="sigmoid")),
                     sparsity=D(dict(kind="kl", weight=1.0, rho=0.05)))),
}


def get_config() -> ml_collections.ConfigDict:
  base = autoencoder.get_config()
  base.train.num_epochs = 5
  c = comparison.get_config(base)
  c.name = "mnist_autoencoder"
  c.title = "MNIST autoencoders: plain, denoising (masking 0.3), sparse (KL, rho 0.05)"
  c.variants = D(VARIANTS)
  return c
