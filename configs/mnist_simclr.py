"""SimCLR on MNIST (003 §IV self-supervised learning; LOSS-25): a SimpleCNN encoder (conv32 -
conv64 -> 128-d representation) and a 128-64 projection head trained with NT-Xent (temperature
0.5) on two views of every image (random resized crop of side U[0.6, 1], Gaussian noise 0.1),
labels never read; then a logistic-regression probe on the frozen 128-d representation of
10,000 training images, accuracy on the 10,000 test images.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_simclr.py --workdir runs/mnist_simclr
Expected: probe test accuracy 0.9694 after 2 epochs (468 steps of 256; target ≥ 0.95); the same
          probe on the encoder after 20 steps: 0.9267.
Time:     5 min 57 s wall, the 2-core CPU shared with other jobs (~1.2 steps/s).
Curriculum: LOSS-25, ARC-6.
"""

import ml_collections

from configs.defaults import contrastive


def get_config() -> ml_collections.ConfigDict:
  c = contrastive.get_config("simclr")
  c.train.num_epochs = 2
  return c
