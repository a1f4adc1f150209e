"""Any TFDS catalog dataset through `tfds.data_source` (array_record, no TensorFlow), read fully
into numpy arrays (fine for MNIST/CIFAR-sized sets: CIFAR-10 is ~180 MB of uint8), e.g.
CIFAR-10 (curriculum DS-2).

The prepared dataset must already be in `<tfds data dir>/<name>/<version>/` unless
`data.download=True`: the presence check runs first, so a missing dataset fails in about a
second instead of entering TFDS's network retry loop. The TFDS data dir is `data.tfds_data_dir`,
else the dlcore data dir (`data.data_dir` / $DLCORE_DATA_DIR), else TFDS's default
(~/tensorflow_datasets or $TFDS_DATA_DIR).
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Callable

import numpy as np

from dlcore.data.base import DATASETS, ENV_DATA_DIR, Dataset, cfg_get, make_dataset
from dlcore.errors import ConfigError, DataError


def tfds_data_dir(data_config: Any) -> str | None:
  """The TFDS data dir to use (None = TFDS's own default)."""
  raw = (cfg_get(data_config, "tfds_data_dir", "") or cfg_get(data_config, "data_dir", "")
         or os.environ.get(ENV_DATA_DIR, ""))
  return os.path.expanduser(str(raw)) if raw else None


def prepared_builder(tfds_name: str, data_dir: str | None, download: bool,
                     remedy: Callable[[pathlib.Path], str] | None = None):
  """`tfds.builder(...)` after checking (offline, fast) that the prepared files exist.

  `remedy(version_dir)` (optional) replaces the "run once with download=True" advice in the
  not-prepared error, e.g. for datasets that need a manual download first (imagenet2012)."""
  import tensorflow_datasets as tfds
  try:
    builder = tfds.builder(tfds_name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError:
    raise ConfigError(f"Unknown TFDS dataset {tfds_name!r}; see "
                      "https://www.tensorflow.org/datasets/catalog for names.") from None
  version_dir = pathlib.Path(str(builder.data_dir))
  if not download and not (version_dir / "dataset_info.json").is_file():
    found = sorted(p.parent.name for p in version_dir.parent.glob("*/dataset_info.json"))
    other = f" (found only versions {', '.join(found)})" if found else ""
    how = remedy(version_dir) if remedy is not None else (
        "run once with --config.data.download=True on a machine with network")
    raise DataError(
        f"TFDS dataset {tfds_name!r} is not prepared in {version_dir}{other}; {how}, or copy a "
        f"prepared TFDS dir there (set --config.data.tfds_data_dir to its parent data dir).")
  return builder


def _read_split(tfds_name, split, data_dir, download, image_key, label_key, chunk=4096):
  import tensorflow_datasets as tfds
  source = tfds.data_source(tfds_name, split=split, data_dir=data_dir, download=download)
  n = len(source)
  inputs, labels = [], []
  for start in range(0, n, chunk):
    idx = list(range(start, min(n, start + chunk)))
    if hasattr(source, "__getitems__"):
      records = source.__getitems__(idx)
    else:
      records = [source[i] for i in idx]
    for record in records:
      if image_key not in record or label_key not in record:
        raise ConfigError(f"TFDS {tfds_name!r} records have keys {sorted(record)}; set "
                          f"data.image_key / data.label_key (now {image_key!r}, {label_key!r}).")
    inputs.append(np.stack([np.asarray(r[image_key]) for r in records]))
    labels.append(np.asarray([r[label_key] for r in records]))
  if not inputs:
    raise DataError(f"TFDS {tfds_name!r} split {split!r} is empty.")
  return np.concatenate(inputs), np.concatenate(labels)


@DATASETS.register("tfds")
def build_tfds(data_config: Any) -> Dataset:
  """Keys: tfds_name, train_split ('train'), test_split ('test'), validation_split (''),
  image_key ('image'), label_key ('label'), download (False), tfds_data_dir."""
  tfds_name = str(cfg_get(data_config, "tfds_name", ""))
  if not tfds_name:
    raise ConfigError("data.tfds_name is not set (e.g. --config.data.tfds_name=cifar10).")
  data_dir = tfds_data_dir(data_config)
  download = bool(cfg_get(data_config, "download", False))
  builder = prepared_builder(tfds_name, data_dir, download)
  keys = (str(cfg_get(data_config, "image_key", "image")),
          str(cfg_get(data_config, "label_key", "label")))
  read = lambda split: _read_split(tfds_name, split, data_dir, download, *keys)
  train = read(str(cfg_get(data_config, "train_split", "train")))
  test = read(str(cfg_get(data_config, "test_split", "test")))
  extra = {}
  if cfg_get(data_config, "validation_split", ""):
    extra["validation"] = read(str(data_config.get("validation_split")))
  label_feature = builder.info.features[keys[1]] if keys[1] in builder.info.features else None
  num_classes = int(getattr(label_feature, "num_classes", 0) or int(train[1].max()) + 1)
  task = "binary" if num_classes == 2 else "multiclass"
  return make_dataset(tfds_name.split(":")[0], task, num_classes, train=train, test=test, **extra)


@DATASETS.register("cifar10")
def build_cifar10(data_config: Any) -> Dataset:
  """DS-2 CIFAR-10 (32x32x3 uint8, 10 classes) via the `tfds` builder."""
  config = data_config.to_dict() if hasattr(data_config, "to_dict") else dict(data_config)
  config["tfds_name"] = "cifar10"
  return build_tfds(config)
