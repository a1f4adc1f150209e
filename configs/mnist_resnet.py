"""A CIFAR-style ResNet-20 (ARC-11, He et al. 2015 §4.2: 3 stages of 3 basic blocks, 16/32/64
channels, option-A shortcuts, BN) on real MNIST, with small random shifts on device.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_resnet.py \
            --workdir runs/mnist_resnet
Expected: test accuracy 0.9959 (>= 0.994) on all 10,000 MNIST test images.
Time:     30 min 27 s on the reference 2-core CPU while other jobs shared it (2,340 steps).
Curriculum: ARC-11, LAY-16, LAY-11, LAY-10, LOSS-5, OPT-7, SCH-4, REG-6 (shift augmentation).
"""

import ml_collections

from configs import mnist_lenet5
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = mnist_lenet5.get_config()  # the same data, augmentation, evaluation and inspection
  c.name = "mnist_resnet"
  c.model = ml_collections.ConfigDict(dict(
      name="cifar_resnet", depth=20, width=16, shortcut="A", zero_init_residual=False))
  c.optimizer = optimizer_config("adamw", 2e-3, schedule="warmup_cosine", weight_decay=1e-4)
  c.optimizer.schedule.warmup_steps = 200
  c.train.num_epochs = 5
  return c
