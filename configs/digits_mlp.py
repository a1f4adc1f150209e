"""MLP on scikit-learn's bundled 8x8 digits: the default experiment of `make train` (offline).

Command:  python -m launch.train --config configs/digits_mlp.py --workdir runs/digits_mlp
Expected: test accuracy 0.981 (>= 0.95) on the 360 held-out digits (best state by validation
          loss, step 360 of 800).
Time:     15 s on the reference 2-core CPU (including compilation).
Curriculum: ARC-2 (MLP), ACT-5, LOSS-5, OPT-7, SCH-2, REG-5 (early stopping on validation).
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "digits_mlp"
  c.experiment = "classification"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="digits", data_dir="", test_size=0.2, validation_size=0.1, seed=0,
      normalize="unit", flatten=True, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="mlp", features=(256, 128), activation="relu", dropout_rate=0.1,
      dropout_mode="inverted", batch_norm=False, layer_norm=False))
  c.loss = ml_collections.ConfigDict(dict(
      name="cross_entropy", reduction="mean", l1_penalty=0.0, l2_penalty=0.0))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adam", 2e-3, schedule="cosine")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=64, num_epochs=40, num_steps=0, log_every=100, eval_every=0,
      checkpoint_every=0, max_checkpoints=3, progress=True))
  c.eval = ml_collections.ConfigDict(dict(
      split="validation", test_split="test", batch_size=256,
      reports=("per_class", "roc_auc", "calibration")))
  c.early_stopping = ml_collections.ConfigDict(dict(
      metric="loss", mode="min", patience=0, min_delta=0.0, restore_best=True))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
