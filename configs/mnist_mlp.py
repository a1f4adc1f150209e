"""MLP 784-1024-1024-10 on real MNIST (DS-1, ARC-2) read from IDX files in the data dir.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_mlp.py \
            --workdir runs/mnist_mlp
Expected: test accuracy 0.9860 (>= 0.980) on all 10,000 MNIST test images.
Time:     2 min 12 s on the reference 2-core CPU (7,020 steps, ~55 steps/s).
Curriculum: ARC-2, ACT-5, LAY-14 (dropout), LOSS-5, OPT-7, SCH-2.
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mnist_mlp"
  c.experiment = "classification"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=0,
      normalize="standardize", flatten=True, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="mlp", features=(1024, 1024), activation="relu", dropout_rate=0.2,
      dropout_mode="inverted", batch_norm=False, layer_norm=False))
  c.loss = ml_collections.ConfigDict(dict(
      name="cross_entropy", reduction="mean", l1_penalty=0.0, l2_penalty=0.0))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adam", 1e-3, schedule="cosine")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=128, num_epochs=15, num_steps=0, log_every=200, eval_every=0,
      checkpoint_every=0, max_checkpoints=3, progress=True))
  c.eval = ml_collections.ConfigDict(dict(
      split="test", test_split="test", batch_size=1000, reports=("per_class", "calibration")))
  c.early_stopping = ml_collections.ConfigDict(dict(
      metric="loss", mode="min", patience=0, min_delta=0.0, restore_best=False))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
