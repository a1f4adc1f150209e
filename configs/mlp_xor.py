"""An MLP with one hidden layer solves XOR, which the perceptron cannot (ARC-1 -> ARC-2, ACT-13).

Command:  python -m launch.train --config configs/mlp_xor.py --workdir runs/mlp_xor
Expected: test accuracy 1.0 on the 4 XOR points.
Time:     6 s on the reference 2-core CPU.
"""

import ml_collections

from configs.defaults import classification
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = classification.get_plain_config()
  c.name = "mlp_xor"
  c.data = classification.data_config("xor", repeat=2)
  c.model.update(features=(8,), activation="tanh")
  c.loss.name = "binary_cross_entropy"
  c.optimizer = optimizer_config("adam", 0.05, schedule="constant")
  c.train.update(batch_size=8, num_epochs=0, num_steps=500, eval_every=100,
                 checkpoint_every=500, max_checkpoints=1, progress=False)
  c.eval.batch_size = 8
  return c
