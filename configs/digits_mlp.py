"""MLP on scikit-learn's bundled 8x8 digits: the default experiment of `make train` (offline).

Command:  python -m launch.train --config configs/digits_mlp.py --workdir runs/digits_mlp
Expected: test accuracy 0.983 (>= 0.95) on the 360 held-out digits (best state by validation
          loss, step 560 of 800).
Time:     15 s on the reference 2-core CPU (including compilation).
Curriculum: ARC-2 (MLP), ACT-5, LOSS-5, OPT-7, SCH-2, REG-5 (early stopping on validation).
"""

import ml_collections

from configs.defaults import classification


def get_config() -> ml_collections.ConfigDict:
  c = classification.get_config()
  c.name = "digits_mlp"
  c.data = classification.data_config("digits", normalize="unit", test_size=0.2,
                                      validation_size=0.1)
  c.model.update(dropout_rate=0.1, dropout_mode="inverted", layer_norm=False)
  c.train.update(batch_size=64, num_epochs=40)
  c.eval.update(split="validation", batch_size=256,
                reports=("per_class", "roc_auc", "calibration"))
  c.early_stopping.restore_best = True
  return c
