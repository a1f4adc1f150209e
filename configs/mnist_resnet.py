"""A CIFAR-style ResNet-20 (ARC-11, He et al. 2015 §4.2: 3 stages of 3 basic blocks, 16/32/64
channels, option-A shortcuts, BN) on real MNIST, with small random shifts on device.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_resnet.py \
            --workdir runs/mnist_resnet
Expected: test accuracy 0.9959 (>= 0.994) on all 10,000 MNIST test images.
Time:     30 min 27 s on the reference 2-core CPU while other jobs shared it (2,340 steps).
Curriculum: ARC-11, LAY-16, LAY-11, LAY-10, LOSS-5, OPT-7, SCH-4, REG-6 (shift augmentation).
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mnist_resnet"
  c.experiment = "classification"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=0,
      normalize="standardize", flatten=False, one_hot=False,
      augment=ml_collections.ConfigDict(dict(
          random_crop_padding=0, horizontal_flip=False, max_shift=2))))
  c.model = ml_collections.ConfigDict(dict(
      name="cifar_resnet", depth=20, width=16, shortcut="A", zero_init_residual=False))
  c.loss = ml_collections.ConfigDict(dict(
      name="cross_entropy", reduction="mean", l1_penalty=0.0, l2_penalty=0.0))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adamw", 2e-3, schedule="warmup_cosine", weight_decay=1e-4)
  c.optimizer.schedule.warmup_steps = 200
  c.train = ml_collections.ConfigDict(dict(
      batch_size=128, num_epochs=5, num_steps=0, log_every=200, eval_every=0,
      checkpoint_every=0, max_checkpoints=3, progress=True))
  c.eval = ml_collections.ConfigDict(dict(
      split="test", test_split="test", batch_size=1000, reports=("per_class",),
      inspect=("confusion_matrix", "error_gallery", "feature_maps", "grad_cam"),
      inspect_images=8))
  c.early_stopping = ml_collections.ConfigDict(dict(
      metric="loss", mode="min", patience=0, min_delta=0.0, restore_best=False))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
