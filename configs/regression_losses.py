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

from configs.defaults import comparison, regression
from dlcore.optim import optimizer_config

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(regression.get_config())
  c.name = "regression_losses"
  c.title = "Exercise 11.2.7: MSE vs MAE vs Huber under outliers"
  c.report_train_split = True
  c.optimizer = optimizer_config("sgd", 0.05, schedule="constant")
  c.train.update(batch_size=200, num_epochs=0, num_steps=2000, eval_every=200,
                 checkpoint_every=2000, max_checkpoints=1, progress=False)
  c.eval.batch_size = 104
  c.variants = D({name: D(dict(loss=D(dict(name=name)))) for name in ("mse", "mae", "huber")})
  return c
