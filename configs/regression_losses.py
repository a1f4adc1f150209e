"""Exercise 002 §11.2.7 (regression part): MSE vs MAE vs Huber (LOSS-1/2/3, delta 1.0) fitting
y = 3x + 2 with a linear model on training data where 10% of the targets are large outliers;
evaluated on clean test data.

Command:  python -m launch.train --config configs/regression_losses.py \
            --workdir runs/regression_losses
Expected: test MSE on clean data: Huber 0.207, MAE 0.215, MSE 0.273 (the outliers pull the
          MSE fit; the noise floor is 0.25); on the outlier-laden training split all three are
          near 22.8, dominated by the outliers.
Time:     13 s on the reference 2-core CPU (three trainings of 2,000 full-batch steps).
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "regression_losses"
  c.title = "Exercise 11.2.7: MSE vs MAE vs Huber under outliers"
  c.experiment = "comparison"
  c.base_experiment = "regression"
  c.report_train_split = True
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="regression_outliers", data_dir="", seed=0, validation_size=0, num_train=200,
      num_test=100, outlier_fraction=0.1, normalize="none", flatten=True, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="mlp", features=(), activation="identity", dropout_rate=0.0, batch_norm=False))
  c.loss = ml_collections.ConfigDict(dict(name="mse", reduction="mean"))
  c.metrics = ("mae", "mse")
  c.optimizer = optimizer_config("sgd", 0.05, schedule="constant")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=200, num_epochs=0, num_steps=2000, log_every=100, eval_every=200,
      checkpoint_every=2000, max_checkpoints=1, progress=False))
  c.eval = ml_collections.ConfigDict(dict(
      split="test", test_split="test", batch_size=104, reports=("regression",)))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  c.variants = ml_collections.ConfigDict({
      name: ml_collections.ConfigDict(dict(loss=ml_collections.ConfigDict(dict(name=name))))
      for name in ("mse", "mae", "huber")})
  return c
