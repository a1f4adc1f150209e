"""The seeds' SimpleCNN (ARC-6: conv32-pool-conv64-pool-FC) on real MNIST.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_cnn.py \
            --workdir runs/mnist_cnn
Expected: test accuracy 0.9919 (>= 0.990) on all 10,000 MNIST test images.
Time:     6 min 25 s on the reference 2-core CPU (3,744 steps, ~10.5 steps/s).
Curriculum: ARC-6, LAY-5, LAY-8, LAY-3, LOSS-5, OPT-7, SCH-2.
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mnist_cnn"
  c.experiment = "classification"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=0,
      normalize="standardize", flatten=False, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="simple_cnn", features=(32, 64), activation="relu", dropout_rate=0.25,
      batch_norm=False, lrn=False, spatial_dropout_rate=0.0, hidden=0))
  c.loss = ml_collections.ConfigDict(dict(
      name="cross_entropy", reduction="mean", l1_penalty=0.0, l2_penalty=0.0))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adam", 2e-3, schedule="cosine")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=128, num_epochs=8, num_steps=0, log_every=200, eval_every=0,
      checkpoint_every=0, max_checkpoints=3, progress=True))
  c.eval = ml_collections.ConfigDict(dict(
      split="test", test_split="test", batch_size=1000, reports=("per_class", "calibration")))
  c.early_stopping = ml_collections.ConfigDict(dict(
      metric="loss", mode="min", patience=0, min_delta=0.0, restore_best=False))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
