"""MLP 784-1024-1024-10 on real MNIST (DS-1, ARC-2) read from IDX files in the data dir.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_mlp.py \
            --workdir runs/mnist_mlp
Expected: test accuracy 0.9860 (>= 0.980) on all 10,000 MNIST test images.
Time:     2 min 12 s on the reference 2-core CPU (7,020 steps, ~55 steps/s).
Curriculum: ARC-2, ACT-5, LAY-14 (dropout), LOSS-5, OPT-7, SCH-2.
"""

import ml_collections

from configs.defaults import classification


def get_config() -> ml_collections.ConfigDict:
  c = classification.get_config()
  c.name = "mnist_mlp"
  c.model.update(features=(1024, 1024), dropout_rate=0.2, dropout_mode="inverted",
                 layer_norm=False)
  c.optimizer.learning_rate = 1e-3
  c.train.log_every = 200
  c.eval.reports = ("per_class", "calibration")
  return c
