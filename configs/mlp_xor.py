"""An MLP with one hidden layer solves XOR, which the perceptron cannot (ARC-1 -> ARC-2, ACT-13).

Command:  python -m launch.train --config configs/mlp_xor.py --workdir runs/mlp_xor
Expected: test accuracy 1.0 on the 4 XOR points.
Time:     6 s on the reference 2-core CPU.
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mlp_xor"
  c.experiment = "classification"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="xor", data_dir="", seed=0, validation_size=0, repeat=2, normalize="none",
      flatten=True, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="mlp", features=(8,), activation="tanh", dropout_rate=0.0, batch_norm=False))
  c.loss = ml_collections.ConfigDict(dict(name="binary_cross_entropy", reduction="mean"))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adam", 0.05, schedule="constant")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=8, num_epochs=0, num_steps=500, log_every=100, eval_every=100,
      checkpoint_every=500, max_checkpoints=1, progress=False))
  c.eval = ml_collections.ConfigDict(dict(split="test", test_split="test", batch_size=8))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
