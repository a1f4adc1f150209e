"""Rosenblatt's perceptron (ARC-1, Algorithm 1) on the linearly separable 4-feature sum>0 task.

Command:  python -m launch.train --config configs/perceptron_sum4.py --workdir runs/perceptron_sum4
Expected: converges (an epoch with zero mistakes); train accuracy 1.0; test accuracy 1.0 on the
          seed's 10 test points (DS-14).
Time:     5 s on the reference 2-core CPU (converges in epoch 46).
"""

import ml_collections

from configs.defaults import perceptron


def get_config() -> ml_collections.ConfigDict:
  c = perceptron.get_config()
  c.name = "perceptron_sum4"
  return c
