"""The perceptron fails on XOR (Minsky & Papert 1969; ARC-1 limitation, DS-18).

Command:  python -m launch.train --config configs/perceptron_xor.py --workdir runs/perceptron_xor
Expected: does NOT converge: mistakes in every one of the 100 epochs; accuracy <= 0.75 (no line
          separates XOR). Compare configs/mlp_xor.py, which solves it.
Time:     4 s on the reference 2-core CPU.
"""

import ml_collections

from configs.defaults import perceptron


def get_config() -> ml_collections.ConfigDict:
  c = perceptron.get_config()
  c.name = "perceptron_xor"
  c.data.update(name="xor", seed=0)
  return c
