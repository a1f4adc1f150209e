"""The seeds' SimpleCNN (ARC-6: conv32-pool-conv64-pool-FC) on real MNIST.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_cnn.py \
            --workdir runs/mnist_cnn
Expected: test accuracy 0.9919 (>= 0.990) on all 10,000 MNIST test images.
Time:     6 min 25 s on the reference 2-core CPU (3,744 steps, ~10.5 steps/s).
Curriculum: ARC-6, LAY-5, LAY-8, LAY-3, LOSS-5, OPT-7, SCH-2.
"""

import ml_collections

from configs.defaults import classification


def get_config() -> ml_collections.ConfigDict:
  c = classification.get_config()
  c.name = "mnist_cnn"
  c.data.flatten = False
  c.model.update(name="simple_cnn", features=(32, 64), dropout_rate=0.25, lrn=False,
                 spatial_dropout_rate=0.0, hidden=0, dtype="float32")
  c.train.update(num_epochs=8, log_every=200)
  c.eval.reports = ("per_class", "calibration")
  return c
