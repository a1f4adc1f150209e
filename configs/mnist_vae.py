"""VAE on binarized MNIST (ARC-32, LOSS-17; Kingma & Welling 2014), the flax example's model:
784-500-20-500-784, ReLU, Gaussian encoder q(z|x) = N(μ, σ²), Bernoulli decoder, one
reparameterised sample z = μ + σ ε per image, −ELBO = Bernoulli NLL + KL(q || N(0, I)) in nats,
Adam 1e-3, batches of 128, 10 epochs (4,690 steps), mesh of 1 device.

Binarization: one fixed, seeded Bernoulli draw per pixel with p = x / 255 of the 60,000 /
10,000 IDX images (`data.binarize='bernoulli'`, `data.binarize_seed=0`), the same every run: the
closest analogue of the flax example's data, TFDS 'binarized_mnist' (the Larochelle-Murray
stochastic binarization; its README states 107.05 ± 0.25 nats over 5 runs).
`--config.data.binarize=threshold` (pixel > 0.5 → 1) gives an easier, less noisy test set whose
figure is not comparable with that anchor.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_vae.py \
            --workdir runs/mnist_vae
Expected: test −ELBO 102.44 nats per image (reconstruction NLL 75.47 + KL 26.97; a one-sample
          estimate, fixed key) on the 10,000 Bernoulli-binarized test images (target ≤ 104).
          With --config.data.binarize=threshold: 87.59 (NLL 57.57 + KL 30.01), on the easier
          data. 4,680 steps (468 an epoch) each.
Time:     2 min 40 s wall (~49 steps/s; threshold: 5 min 30 s with the 2-core CPU shared).
Curriculum: ARC-32, LOSS-17, ARC-29.
"""

import ml_collections

from configs.defaults import autoencoder


def get_config() -> ml_collections.ConfigDict:
  c = autoencoder.get_config("vae")
  c.name = "mnist_vae"
  c.data.binarize = "bernoulli"
  return c
