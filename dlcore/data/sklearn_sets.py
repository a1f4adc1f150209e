"""Datasets from scikit-learn (bundled or generated, no download): digits (an 8x8 DS-1
stand-in), two moons, and class-imbalanced classification (curriculum DS-11)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlcore.data.base import DATASETS, Dataset, cfg_get, make_dataset
from dlcore.errors import ConfigError


def _split(x, y, data_config, stratify=True):
  from sklearn.model_selection import train_test_split
  x_tr, x_te, y_tr, y_te = train_test_split(
      x, y, test_size=float(cfg_get(data_config, "test_size", 0.2)),
      random_state=int(cfg_get(data_config, "seed", 0)), stratify=y if stratify else None)
  return (x_tr, y_tr), (x_te, y_te)


@DATASETS.register("digits")
def build_digits(data_config: Any) -> Dataset:
  """sklearn's 1797 8x8 digits as uint8 (N, 8, 8, 1) images rescaled 0..16 -> 0..255; a
  stratified seeded train/test split (`test_size` 0.2)."""
  from sklearn.datasets import load_digits
  bunch = load_digits()
  images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
  train, test = _split(images, bunch.target, data_config)
  return make_dataset("digits", "multiclass", 10, train=train, test=test)


@DATASETS.register("two_moons")
def build_two_moons(data_config: Any) -> Dataset:
  """sklearn make_moons (`n` 1000, `noise` 0.2, `seed`), binary, seeded 80/20 split."""
  from sklearn.datasets import make_moons
  x, y = make_moons(n_samples=int(cfg_get(data_config, "n", 1000)),
                    noise=float(cfg_get(data_config, "noise", 0.2)),
                    random_state=int(cfg_get(data_config, "seed", 0)))
  train, test = _split(x.astype(np.float32), y, data_config)
  return make_dataset("two_moons", "binary", 2, train=train, test=test)


@DATASETS.register("imbalanced")
def build_imbalanced(data_config: Any) -> Dataset:
  """DS-11: sklearn make_classification with class proportions `weights` (default [0.9, 0.1]);
  binary for 2 classes else multiclass; stratified seeded split."""
  from sklearn.datasets import make_classification
  weights = [float(w) for w in cfg_get(data_config, "weights", (0.9, 0.1))]
  k = len(weights)
  if k < 2 or min(weights) <= 0:
    raise ConfigError(f"data.weights needs >= 2 positive class proportions, got {weights}.")
  num_features = int(cfg_get(data_config, "num_features", 20))
  informative = int(cfg_get(data_config, "num_informative", max(2, math.ceil(math.log2(2 * k)))))
  if informative > num_features:
    raise ConfigError(f"data.num_features={num_features} must be >= {informative} informative "
                      f"features for {k} classes.")
  x, y = make_classification(
      n_samples=int(cfg_get(data_config, "n", 1000)), n_features=num_features,
      n_informative=informative, n_redundant=min(2, num_features - informative), n_classes=k,
      n_clusters_per_class=2, weights=weights, flip_y=float(cfg_get(data_config, "flip_y", 0.0)),
      random_state=int(cfg_get(data_config, "seed", 0)))
  train, test = _split(x.astype(np.float32), y, data_config)
  return make_dataset("imbalanced", "binary" if k == 2 else "multiclass", k, train=train, test=test)
