"""Exercise 002 §11.2.1: a three-layer MLP on MNIST with sigmoid vs tanh vs ReLU (ACT-3/4/5).

One command trains the three variants (each in <workdir>/<activation>/, resumable) and writes
<workdir>/comparison.md plus <workdir>/plots/compare_loss.png and compare_accuracy.png.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_activations.py --workdir runs/mnist_activations
Expected: test accuracy after 5 epochs of plain SGD (lr 0.1): ReLU 0.959 > tanh 0.944 >
          sigmoid 0.915; sigmoid learns slowest from the first steps (|σ'| <= 0.25, BP-3).
Time:     34 s on the reference 2-core CPU (three trainings of 2,340 steps).
"""

import ml_collections

from configs.defaults import classification, comparison
from dlcore.optim import optimizer_config

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(classification.get_plain_config())
  c.name = "mnist_activations"
  c.title = "Exercise 11.2.1: MLP activations on MNIST"
  c.data.normalize = "unit"
  c.model.update(features=(256,), kernel_init="xavier_uniform")
  c.optimizer = optimizer_config("sgd", 0.1, schedule="constant")
  c.train.update(num_epochs=5, max_checkpoints=2)
  c.variants = D({act: D(dict(model=D(dict(activation=act))))
                  for act in ("sigmoid", "tanh", "relu")})
  return c
