"""Exercise 002 §11.2.6: dropout (LAY-14, inverted) on a model that overfits: a 784-512-512-10
MLP trained on only 1,000 MNIST images, with and without dropout 0.5.

Writes comparison.md (test and training-split accuracy and the train-test gap),
plots/compare_loss.png / compare_accuracy.png (train and test curves) and
plots/weight_histograms.png (distribution of the final kernel weights of both variants).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_dropout.py --workdir runs/mnist_dropout
Expected: both fit the 1,000 training images perfectly; test accuracy 0.897 without and 0.903
          with dropout 0.5 (gap 0.103 -> 0.097); dropout removes the large weights (max |w|
          0.58 -> 0.28) while the bulk of the distribution (std 0.06) stays.
Time:     54 s on the reference 2-core CPU (two trainings of 1,050 steps).
"""

import ml_collections

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mnist_dropout"
  c.title = "Exercise 11.2.6: dropout on an overfitting MLP (1,000 MNIST training images)"
  c.experiment = "comparison"
  c.base_experiment = "classification"
  c.report_train_split = True
  c.weight_histograms = True
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=1000,
      normalize="unit", flatten=True, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="mlp", features=(512, 512), activation="relu", dropout_rate=0.0, batch_norm=False))
  c.loss = ml_collections.ConfigDict(dict(name="cross_entropy", reduction="mean"))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adam", 1e-3, schedule="constant")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=128, num_epochs=150, num_steps=0, log_every=35, eval_every=70,
      checkpoint_every=0, max_checkpoints=1, progress=True))
  c.eval = ml_collections.ConfigDict(dict(split="test", test_split="test", batch_size=1000))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  c.variants = ml_collections.ConfigDict(dict(
      no_dropout=ml_collections.ConfigDict(dict(
          model=ml_collections.ConfigDict(dict(dropout_rate=0.0)))),
      dropout_0_5=ml_collections.ConfigDict(dict(
          model=ml_collections.ConfigDict(dict(dropout_rate=0.5))))))
  return c
