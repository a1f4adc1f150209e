"""Default of regression (`experiment='regression'`: experiments/classification.py with an MSE
loss): a linear model fitting y = 3x + 2 on synthetic points where 10% of the training targets
are outliers (`regression_outliers`, 200 train / 100 clean test points).

Sections: configs.defaults.classification's plain sections (no early_stopping, no loss
penalties; optimizer and train as there) with
  data:    name='regression_outliers', num_train, num_test, outlier_fraction, unnormalised
  model:   an MLP without hidden layers and the identity activation (a linear model)
  loss:    name='mse', reduction
  metrics: ('mae', 'mse')
  eval:    reports=('regression',)
"""

import ml_collections

from configs.defaults import classification


def get_config() -> ml_collections.ConfigDict:
  c = classification.get_plain_config()
  c.name = "regression"
  c.experiment = "regression"
  c.data = classification.data_config("regression_outliers", num_train=200, num_test=100,
                                      outlier_fraction=0.1)
  c.model.update(features=(), activation="identity")
  c.loss.name = "mse"
  c.metrics = ("mae", "mse")
  c.eval.reports = ("regression",)
  return c
