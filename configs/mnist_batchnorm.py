"""Exercise 002 §11.2.5: a deep MLP on MNIST with and without batch normalization (LAY-11),
at a small and a large learning rate (BN's effect on the usable learning rate).

One command trains the four variants (each in <workdir>/<variant>/) and writes comparison.md
(final test metrics; a diverged variant is marked) and plots/compare_loss.png /
compare_accuracy.png (training curves side by side).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_batchnorm.py --workdir runs/mnist_batchnorm
Expected: with BN the 5x256 sigmoid MLP reaches test accuracy 0.941 (lr 0.05) and 0.949
          (lr 1.0) in 3 epochs of SGD; without BN it stays at chance (0.101) at both rates
          (vanishing sigmoid gradients through 5 layers, BP-3).
Time:     39 s on the reference 2-core CPU (four trainings of 1,404 steps).
"""

import ml_collections

from configs.defaults import classification, comparison
from dlcore.optim import optimizer_config

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(classification.get_plain_config())
  c.name = "mnist_batchnorm"
  c.title = "Exercise 11.2.5: batch normalization in a deep MLP on MNIST"
  c.data.normalize = "unit"
  c.model.update(features=(256,) * 5, activation="sigmoid", kernel_init="xavier_uniform")
  c.optimizer = optimizer_config("sgd", 0.05, schedule="constant")
  c.train.update(num_epochs=3, log_every=50, eval_every=234, max_checkpoints=1)
  c.variants = D({
      f"{'bn' if bn else 'no_bn'}_{tag}": D(dict(model=D(dict(batch_norm=bn)),
                                                 optimizer=D(dict(learning_rate=lr))))
      for bn in (False, True) for lr, tag in ((0.05, "lr_0_05"), (1.0, "lr_1"))})
  return c
