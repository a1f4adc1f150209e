"""LeNet-5 (ARC-7) on real MNIST: 28x28 digits zero-padded to 32x32 inside the model (§0 item 7),
tanh, average pooling, small random shifts as on-device augmentation.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_lenet5.py \
            --workdir runs/mnist_lenet5
Expected: test accuracy 0.9921 (>= 0.990) on all 10,000 MNIST test images.
Time:     5 min 5 s on the reference 2-core CPU (7,020 steps).
Curriculum: ARC-7, LAY-5, LAY-9, ACT-2, LOSS-5, OPT-7, SCH-4, REG-6 (shift augmentation).
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mnist_lenet5"
  c.experiment = "classification"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=0,
      normalize="standardize", flatten=False, one_hot=False,
      augment=ml_collections.ConfigDict(dict(
          random_crop_padding=0, horizontal_flip=False, max_shift=2))))
  c.model = ml_collections.ConfigDict(dict(
      name="lenet5", pad_to=32, activation="tanh", pooling="avg", batch_norm=False,
      dropout_rate=0.0))
  c.loss = ml_collections.ConfigDict(dict(
      name="cross_entropy", reduction="mean", l1_penalty=0.0, l2_penalty=0.0))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adam", 2e-3, schedule="cosine")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=128, num_epochs=15, num_steps=0, log_every=200, eval_every=0,
      checkpoint_every=0, max_checkpoints=3, progress=True))
  c.eval = ml_collections.ConfigDict(dict(
      split="test", test_split="test", batch_size=1000, reports=("per_class",),
      inspect=("confusion_matrix", "error_gallery", "feature_maps", "grad_cam"),
      inspect_images=8))
  c.early_stopping = ml_collections.ConfigDict(dict(
      metric="loss", mode="min", patience=0, min_delta=0.0, restore_best=False))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
