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

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mnist_activations"
  c.title = "Exercise 11.2.1: MLP activations on MNIST"
  c.experiment = "comparison"
  c.base_experiment = "classification"
  c.seed = 0
  c.data = ml_collections.ConfigDict(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=0,
      normalize="unit", flatten=True, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="mlp", features=(256,), activation="relu", dropout_rate=0.0, batch_norm=False,
      kernel_init="xavier_uniform"))
  c.loss = ml_collections.ConfigDict(dict(name="cross_entropy", reduction="mean"))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("sgd", 0.1, schedule="constant")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=128, num_epochs=5, num_steps=0, log_every=100, eval_every=0,
      checkpoint_every=0, max_checkpoints=2, progress=True))
  c.eval = ml_collections.ConfigDict(dict(split="test", test_split="test", batch_size=1000))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  c.variants = ml_collections.ConfigDict({
      act: ml_collections.ConfigDict(dict(model=ml_collections.ConfigDict(dict(activation=act))))
      for act in ("sigmoid", "tanh", "relu")})
  return c
