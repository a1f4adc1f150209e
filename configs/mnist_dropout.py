"""Exercise 002 §11.2.6: dropout (LAY-14, inverted) on a model that overfits: a 784-512-512-10
MLP trained on only 1,000 MNIST images, with and without dropout 0.5.

Writes comparison.md (test and training-split accuracy and the train-test gap),
plots/compare_loss.png / compare_accuracy.png (train and test curves) and
plots/weight_histograms.png (distribution of the final kernel weights of both variants).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_dropout.py --workdir runs/mnist_dropout
Expected: both fit the 1,000 training images perfectly; test accuracy 0.897 without and 0.907
          with dropout 0.5 (gap 0.103 -> 0.093); dropout removes the large weights (max |w|
          0.58 -> 0.28) while the bulk of the distribution (std 0.06) stays.
Time:     54 s on the reference 2-core CPU (two trainings of 1,050 steps).
"""

import ml_collections

from configs.defaults import classification, comparison
from dlcore.optim import optimizer_config

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(classification.get_plain_config())
  c.name = "mnist_dropout"
  c.title = "Exercise 11.2.6: dropout on an overfitting MLP (1,000 MNIST training images)"
  c.report_train_split = True
  c.weight_histograms = True
  c.data.update(num_train=1000, normalize="unit")
  c.model.features = (512, 512)
  c.optimizer = optimizer_config("adam", 1e-3, schedule="constant")
  c.train.update(num_epochs=150, log_every=35, eval_every=70, max_checkpoints=1)
  c.variants = D(dict(no_dropout=D(dict(model=D(dict(dropout_rate=0.0)))),
                      dropout_0_5=D(dict(model=D(dict(dropout_rate=0.5))))))
  return c
