"""The perceptron fails on XOR (Minsky & Papert 1969; ARC-1 limitation, DS-18).

Command:  python -m launch.train --config configs/perceptron_xor.py --workdir runs/perceptron_xor
Expected: does NOT converge: mistakes in every one of the 100 epochs; accuracy <= 0.75 (no line
          separates XOR). Compare configs/mlp_xor.py, which solves it.
Time:     4 s on the reference 2-core CPU.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "perceptron_xor"
  c.experiment = "perceptron"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(name="xor", data_dir="", seed=0, validation_size=0))
  c.model = ml_collections.ConfigDict(dict(name="perceptron"))
  c.perceptron = ml_collections.ConfigDict(dict(learning_rate=1.0, max_epochs=100))
  c.eval = ml_collections.ConfigDict(dict(test_split="test"))
  return c
