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

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mnist_batchnorm"
  c.title = "Exercise 11.2.5: batch normalization in a deep MLP on MNIST"
  c.experiment = "comparison"
  c.base_experiment = "classification"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=0,
      normalize="unit", flatten=True, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="mlp", features=(256, 256, 256, 256, 256), activation="sigmoid", dropout_rate=0.0,
      batch_norm=False, kernel_init="xavier_uniform"))
  c.loss = ml_collections.ConfigDict(dict(name="cross_entropy", reduction="mean"))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("sgd", 0.05, schedule="constant")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=128, num_epochs=3, num_steps=0, log_every=50, eval_every=234,
      checkpoint_every=0, max_checkpoints=1, progress=True))
  c.eval = ml_collections.ConfigDict(dict(split="test", test_split="test", batch_size=1000))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  variants = {}
  for bn in (False, True):
    for lr, tag in ((0.05, "lr_0_05"), (1.0, "lr_1")):
      variants[f"{'bn' if bn else 'no_bn'}_{tag}"] = ml_collections.ConfigDict(dict(
          model=ml_collections.ConfigDict(dict(batch_norm=bn)),
          optimizer=ml_collections.ConfigDict(dict(learning_rate=lr))))
  c.variants = ml_collections.ConfigDict(variants)
  return c
