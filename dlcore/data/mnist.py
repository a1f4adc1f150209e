"""MNIST (curriculum DS-1) from the 4 standard IDX gz files; also reads Fashion-MNIST copies.

Files live in `<data_dir>/mnist/`, or in `data.path` (absolute, or relative to the data dir).
Images come back as uint8 (N, 28, 28, 1) NHWC (scaled on device), labels int32 in 0..9.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import numpy as np

from dlcore.data.base import DATASETS, Dataset, cfg_get, make_dataset, resolve_data_dir
from dlcore.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from dlcore.errors import DataError

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
NUM_CLASSES = 10


def mnist_dir(data_config: Any) -> pathlib.Path:
  """`data.path` (absolute or relative to the data dir), else `<data_dir>/mnist`."""
  path = str(cfg_get(data_config, "path", ""))
  if path and os.path.isabs(os.path.expanduser(path)):
    return pathlib.Path(os.path.expanduser(path))
  return resolve_data_dir(data_config) / (path or "mnist")


def _find(folder: pathlib.Path, name: str) -> pathlib.Path:
  """The .gz file, or its uncompressed twin; DataError naming both when neither exists."""
  for candidate in (folder / name, folder / name[:-3]):
    try:
      if candidate.is_file():
        return candidate
    except PermissionError:
      raise DataError(f"cannot read MNIST folder {folder}: permission denied; fix its "
                      f"permissions (e.g. chmod a+rx {folder}).") from None
  names = ", ".join(n for pair in FILES.values() for n in pair)
  raise DataError(f"MNIST file {folder / name} not found; expected the 4 MNIST IDX files "
                  f"({names}) in {folder}.")


def read_split(folder: pathlib.Path, split: str) -> tuple[np.ndarray, np.ndarray]:
  """(images uint8 [N, H, W, 1], labels int32 [N]) of one split, validated."""
  image_file, label_file = (_find(folder, name) for name in FILES[split])
  images = read_idx(image_file, expected_magic=IMAGES_MAGIC)
  labels = read_idx(label_file, expected_magic=LABELS_MAGIC)
  if images.shape[0] != labels.shape[0]:
    raise DataError(f"MNIST {split} count mismatch: {image_file} has {images.shape[0]} images "
                    f"but {label_file} has {labels.shape[0]} labels.")
  if labels.size and int(labels.max()) >= NUM_CLASSES:
    raise DataError(f"MNIST label file {label_file} has label {int(labels.max())} outside 0..9.")
  return images[..., None], labels.astype(np.int32)


@DATASETS.register("mnist")
def build_mnist(data_config: Any) -> Dataset:
  """MNIST/Fashion-MNIST; `num_train` > 0 (`num_test` > 0) keeps only that prefix of the
  training (test) split: quick runs and tests."""
  folder = mnist_dir(data_config)
  if folder.exists() and not folder.is_dir():
    raise DataError(f"MNIST folder {folder} is a file, not a directory; set --config.data.path "
                    f"(or data_dir) to the folder holding the 4 MNIST IDX files.")
  if not folder.is_dir():
    raise DataError(f"MNIST folder {folder} does not exist; it must hold the 4 MNIST IDX files.")
  if not os.access(folder, os.R_OK | os.X_OK):
    raise DataError(f"cannot read MNIST folder {folder}: permission denied; fix its permissions "
                    f"(e.g. chmod a+rx {folder}).")
  train = read_split(folder, "train")
  test = read_split(folder, "test")
  num_train = int(cfg_get(data_config, "num_train", 0))
  if num_train > 0:
    train = (train[0][:num_train], train[1][:num_train])
  num_test = int(cfg_get(data_config, "num_test", 0))
  if num_test > 0:
    test = (test[0][:num_test], test[1][:num_test])
  return make_dataset("mnist", "multiclass", NUM_CLASSES, train=train, test=test)
