"""The seeds' exact 4-8-4-1 network (ARC-3, 002 §3, Listing 5): 81 parameters.

Recipe: Dense 4->8 ReLU, 8->4 ReLU, 4->1 sigmoid; W ~ randn*sqrt(2/fan_in) (the seed's "Xavier",
really He-normal, §0 item 5), b = 0; BCE (LOSS-4) averaged over m; full-batch gradient descent
(OPT-2) with learning rate 0.01 for 1000 epochs; data np.random.seed(42): X = randn(1000, 4),
y = (sum > 0) (DS-14); the 10 test points follow in the same random stream.

Command:  python -m launch.train --config configs/mlp_4841.py --workdir runs/mlp_4841
Expected: 81 parameters; the training loss falls steadily (logged as the mean of each 100
          epochs, as the seed prints every 100: 0.673 -> 0.391 with seed 42); test accuracy 0.9
          on the seed's 10 test points (loss 0.417).
Time:     8 s on the reference 2-core CPU.
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mlp_4841"
  c.experiment = "classification"
  c.seed = 42
  c.data = ml_collections.ConfigDict(dict(
      name="sum4", data_dir="", seed=42, validation_size=0, normalize="none", flatten=True,
      one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="mlp", features=(8, 4), activation="relu", dropout_rate=0.0, batch_norm=False,
      kernel_init="he_normal_seed", bias_init="zeros"))
  c.loss = ml_collections.ConfigDict(dict(name="binary_cross_entropy", reduction="mean"))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("sgd", 0.01, schedule="constant")
  # Full batch: one step per epoch over all 1000 examples (no shuffling effect on the gradient).
  c.train = ml_collections.ConfigDict(dict(
      batch_size=1000, num_epochs=1000, num_steps=0, log_every=100, eval_every=100,
      checkpoint_every=500, max_checkpoints=2, progress=False))
  c.eval = ml_collections.ConfigDict(dict(split="test", test_split="test", batch_size=8))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
