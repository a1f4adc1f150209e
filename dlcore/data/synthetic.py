"""Small synthetic datasets: XOR (curriculum DS-18), the seeds' 4-feature data (DS-14, ARC-3)
and a regression line with outliers (DS-12)."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcore.data.base import DATASETS, Dataset, cfg_get, make_dataset
from dlcore.errors import ConfigError

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_LABELS = np.array([0, 1, 1, 0], np.int32)


@DATASETS.register("xor")
def build_xor(data_config: Any) -> Dataset:
  """DS-18: the 4 XOR points; train = test; `repeat` tiles the training rows."""
  repeat = int(cfg_get(data_config, "repeat", 1))
  if repeat < 1:
    raise ConfigError(f"data.repeat must be >= 1, got {repeat}.")
  train = (np.tile(XOR_INPUTS, (repeat, 1)), np.tile(XOR_LABELS, repeat))
  return make_dataset("xor", "binary", 2, train=train, test=(XOR_INPUTS, XOR_LABELS))


def sum4_arrays(seed: int = 42, num_train: int = 1000, num_test: int = 10):
  """DS-14 exactly as the seed draws it: `np.random.seed(seed); X_train = randn(1000, 4);
  X_test = randn(10, 4)` (same legacy stream), label = sum > 0; global RNG state untouched."""
  rs = np.random.RandomState(seed)
  x_train = rs.randn(num_train, 4)
  x_test = rs.randn(num_test, 4)
  return (x_train, x_train.sum(axis=1) > 0), (x_test, x_test.sum(axis=1) > 0)


@DATASETS.register("sum4")
def build_sum4(data_config: Any) -> Dataset:
  """DS-14 / ARC-3: randn 4-feature points labelled by `sum > 0` (float32 features, binary)."""
  (x_train, y_train), (x_test, y_test) = sum4_arrays(
      int(cfg_get(data_config, "seed", 42)), int(cfg_get(data_config, "num_train", 1000)),
      int(cfg_get(data_config, "num_test", 10)))
  return make_dataset("sum4", "binary", 2, train=(x_train.astype(np.float32), y_train),
                      test=(x_test.astype(np.float32), y_test))


@DATASETS.register("regression_outliers")
def build_regression_outliers(data_config: Any) -> Dataset:
  """DS-12: y = slope*x + intercept + N(0, noise^2); `outlier_fraction` of TRAIN labels get a
  +-U(0.5, 1)*`outlier_scale` shift (the test split is clean), for MSE vs MAE vs Huber."""
  g = lambda key, default: cfg_get(data_config, key, default)
  rng = np.random.default_rng(int(g("seed", 0)))
  slope, intercept = float(g("slope", 3.0)), float(g("intercept", 2.0))
  noise = float(g("noise", 0.5))

  def draw(n):
    x = rng.uniform(-2.0, 2.0, size=(n, 1))
    return x, slope * x[:, 0] + intercept + noise * rng.standard_normal(n)

  n_train, n_test = int(g("num_train", 200)), int(g("num_test", 100))
  x_train, y_train = draw(n_train)
  x_test, y_test = draw(n_test)
  frac = float(g("outlier_fraction", 0.1))
  if not 0.0 <= frac <= 1.0:
    raise ConfigError(f"data.outlier_fraction must be in [0, 1], got {frac}.")
  idx = rng.choice(n_train, size=int(round(frac * n_train)), replace=False)
  shift = rng.choice([-1.0, 1.0], size=idx.size) * rng.uniform(0.5, 1.0, idx.size)
  y_train[idx] += float(g("outlier_scale", 20.0)) * shift
  return make_dataset("regression_outliers", "regression", 0,
                      train=(x_train.astype(np.float32), y_train),
                      test=(x_test.astype(np.float32), y_test))


@DATASETS.register("synthetic_images")
def build_synthetic_images(data_config: Any) -> Dataset:
  """Random uint8 images of any shape, for smoke tests and benchmarks of image models where the
  real data is absent (e.g. CIFAR-10 shape (32, 32, 3), ImageNet shape (224, 224, 3)).

  Keys: image_shape ((32, 32, 3)), num_classes (10), num_train (64), num_test (32), seed (0).
  Each class has its own mean brightness (label k -> pixels around 255 (k + 0.5) / K), so a
  model can fit the labels.
  """
  g = lambda key, default: cfg_get(data_config, key, default)
  shape = tuple(int(d) for d in g("image_shape", (32, 32, 3)))
  k = int(g("num_classes", 10))
  if len(shape) not in (2, 3) or min(shape) < 1 or k < 2:
    raise ConfigError(f"synthetic_images needs image_shape (H, W) or (H, W, C) and "
                      f"num_classes >= 2; got {shape} and {k}.")
  rng = np.random.default_rng(int(g("seed", 0)))

  def draw(n):
    labels = rng.integers(0, k, n).astype(np.int32)
    centre = 255.0 * (labels + 0.5) / k
    noise = rng.normal(0.0, 40.0, (n, *shape))
    images = np.clip(centre.reshape((n,) + (1,) * len(shape)) + noise, 0, 255)
    return images.astype(np.uint8), labels

  return make_dataset("synthetic_images", "multiclass", k,
                      train=draw(int(g("num_train", 64))), test=draw(int(g("num_test", 32))))
