"""Dataset containers, the dataset registry and `load_dataset` (curriculum §9a, DS-1..DS-18).

Every dataset is a `Dataset`: split name -> named columns, e.g. {'inputs': [N, ...], 'label': [N]}
(small numpy arrays, or a `dlcore.data.lazy.LazySplit` that reads and decodes rows on demand,
ImageNet, DS-4), each column with a declared `Feature` (`dlcore.data.features`: image, dense,
tokens, lengths, label, target, mask, graph) that chooses its preprocessing.
Builders take the `data` ConfigDict (or any mapping with `.get`) and read optional keys with
`.get(key, default)`. `load_dataset` then carves a seeded validation split and fills the
per-channel training mean/std of an image or dense 'inputs' column (unless the builder set them,
as ImageNet's published ones), and the features of the columns not declared.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from dlcore.config import cfg_get  # noqa: F401  (re-exported for dlcore.data modules)
from dlcore.data.features import TRANSFORMED, Feature, infer_features
from dlcore.data.lazy import take_rows
from dlcore.errors import ConfigError, DataError
from dlcore.registry import Registry

TASKS = ("multiclass", "binary", "regression", "sequence", "unsupervised", "graph")
ENV_DATA_DIR = "DLCORE_DATA_DIR"

DATASETS: Registry = Registry("dataset")


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """Static facts about a dataset; `mean`/`std` are per channel (last axis) of the train split,
  in the stored units (0..255 for uint8 images). `crop_size` is the default data.crop_size of
  `make_preprocess` (0 = none; ImageNet: 224 of the stored 256). `features`: {column: Feature}
  of every column of the splits. `assets`: {file name: text} the trained state depends on (a
vocabulary), kept in the workdir (`dlcore.train.assets`)."""
  name: str
  task: str
  num_classes: int
  input_shape: tuple[int, ...]
  input_dtype: str
  mean: tuple[float, ...] = ()
  std: tuple[float, ...] = ()
  crop_size: int = 0
  features: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)
  assets: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)  # run files
  vocab_size: int = 0  # token datasets: the size of the vocabulary of their ids


@dataclasses.dataclass
class Dataset:
  """A dataset: `splits[name] = {column: array[N, ...]}` (numpy arrays or a LazySplit mapping of
  array-like columns), e.g. {'inputs': images, 'label': classes}."""
  info: DatasetInfo
  splits: dict[str, Mapping[str, Any]]

  def split(self, name: str) -> Mapping[str, Any]:
    if name not in self.splits:
      raise DataError(f"Dataset {self.info.name!r} has no split {name!r}; valid splits: "
                      f"{', '.join(sorted(self.splits))}.")
    return self.splits[name]

  def num_examples(self, name: str) -> int:
    """Rows of split `name` (of its first column; every column has as many)."""
    split = self.split(name)
    return int(next(iter(split.values())).shape[0]) if split else 0


def make_split(inputs: np.ndarray, label: np.ndarray, task: str) -> dict[str, np.ndarray]:
  """A split dict with contiguous arrays; labels int32 (classification) or float32 (regression)."""
  label_dtype = np.float32 if task == "regression" else np.int32
  inputs = np.ascontiguousarray(inputs)
  label = np.ascontiguousarray(np.asarray(label).astype(label_dtype, copy=False))
  if inputs.shape[0] != label.shape[0]:
    raise DataError(f"inputs have {inputs.shape[0]} rows but labels have {label.shape[0]}.")
  return {"inputs": inputs, "label": label}


def make_dataset(name: str, task: str, num_classes: int, train: tuple, test: tuple,
                 **extra_splits: tuple) -> Dataset:
  """Builds a `Dataset` from (inputs, label) pairs; input shape/dtype come from `train`."""
  if task not in TASKS:
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
  splits = {"train": make_split(*train, task), "test": make_split(*test, task)}
  for split_name, pair in extra_splits.items():
    splits[split_name] = make_split(*pair, task)
  x = splits["train"]["inputs"]
  info = DatasetInfo(name=name, task=task, num_classes=int(num_classes),
                     input_shape=tuple(int(d) for d in x.shape[1:]), input_dtype=str(x.dtype))
  return Dataset(info=info, splits=splits)


def resolve_data_dir(data_config: Any) -> pathlib.Path:
  """`data_config.data_dir` if non-empty, else $DLCORE_DATA_DIR; DataError if unset or missing."""
  raw = cfg_get(data_config, "data_dir", "") or os.environ.get(ENV_DATA_DIR, "")
  if not str(raw):
    raise DataError("No data dir: set --config.data.data_dir=PATH or DLCORE_DATA_DIR "
                    "(it must contain mnist/ ...).")
  path = pathlib.Path(os.path.expanduser(str(raw)))
  source = "--config.data.data_dir" if cfg_get(data_config, "data_dir", "") else ENV_DATA_DIR
  if path.exists() and not path.is_dir():
    raise DataError(f"Data dir {path} (from {source}) is a file, not a directory; set "
                    f"--config.data.data_dir or {ENV_DATA_DIR} to the directory that contains "
                    f"mnist/ ...")
  if not path.is_dir():
    raise DataError(f"Data dir {path} (from {source}) does not exist; set "
                    f"--config.data.data_dir or {ENV_DATA_DIR} to an existing directory (it must "
                    f"contain mnist/ ...).")
  if not os.access(path, os.R_OK | os.X_OK):
    raise DataError(f"cannot read data dir {path} (from {source}): permission denied; fix its "
                    f"permissions.")
  return path


def channel_mean_std(x: np.ndarray,
                     chunk: int = 8192) -> tuple[tuple[float, ...], tuple[float, ...]]:
  """Per-channel (last axis) mean and population std, accumulated in float64 by chunks."""
  if x.shape[0] == 0:
    return (), ()
  channels = x.shape[-1] if x.ndim > 1 else 1
  total = np.zeros(channels)
  total_sq = np.zeros(channels)
  count = 0
  for start in range(0, x.shape[0], chunk):
    block = x[start:start + chunk].reshape(-1, channels).astype(np.float64)
    total += block.sum(axis=0)
    total_sq += np.square(block).sum(axis=0)
    count += block.shape[0]
  mean = total / count
  std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
  return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def validation_count(size: Any, n: int) -> int:
  """An int count, or a float fraction in (0, 1) of `n`, as a number of examples."""
  if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
    raise ConfigError(f"data.validation_size must be an int count or a float fraction in (0, 1), "
                      f"got {size!r}.")
  if isinstance(size, (float, np.floating)):
    if not 0.0 <= size < 1.0:
      raise ConfigError(f"data.validation_size={size} as a fraction must be in (0, 1).")
    count = int(round(size * n))
  else:
    count = int(size)
  if count < 0 or count >= n:
    raise ConfigError(f"data.validation_size={size} must leave at least one of the {n} "
                      f"training examples (0 <= count < {n}).")
  return count


def carve_validation(dataset: Dataset, size: Any, seed: int = 0) -> Dataset:
  """Moves a seeded random subset of 'train' to 'validation' (both keep their original order;
  a lazy split becomes two views, nothing is read)."""
  train = dataset.split("train")
  n = int(next(iter(train.values())).shape[0])
  count = validation_count(size, n)
  if count == 0:
    return dataset
  if "validation" in dataset.splits:
    raise ConfigError(f"Dataset {dataset.info.name!r} already has a 'validation' split; "
                      "set data.validation_size=0.")
  perm = np.random.default_rng(int(seed)).permutation(n)
  val_idx, train_idx = np.sort(perm[:count]), np.sort(perm[count:])
  splits = dict(dataset.splits)
  splits["validation"] = take_rows(train, val_idx)
  splits["train"] = take_rows(train, train_idx)
  return Dataset(info=dataset.info, splits=splits)


def load_dataset(data_config: Any) -> Dataset:
  """Builds `data_config.name`, carves `validation_size` from train (seed `data_config.seed`),
  then fills `info.mean`/`info.std` from the final train split, unless the builder set them
  (a lazy split is never scanned)."""
  import dlcore.data  # noqa: F401  (registers the built-in datasets)
  name = cfg_get(data_config, "name", "")
  if not name:
    raise ConfigError("data.name is not set; valid datasets: " + ", ".join(DATASETS.names()) + ".")
  dataset = DATASETS.get(name)(data_config)
  dataset = carve_validation(dataset, cfg_get(data_config, "validation_size", 0),
                             cfg_get(data_config, "seed", 0))
  train = dataset.split("train")
  info = dataclasses.replace(dataset.info,
                             features=infer_features(train, dataset.info.features))
  inputs = info.features.get("inputs")
  if not (info.mean and info.std) and inputs is not None and inputs.kind in TRANSFORMED:
    mean, std = channel_mean_std(train["inputs"])
    info = dataclasses.replace(info, mean=mean, std=std)
  return Dataset(info=info, splits=dataset.splits)


def make_columns_dataset(name: str, task: str, splits: Mapping[str, Mapping[str, np.ndarray]],
                         features: Mapping[str, Feature] | None = None,
                         num_classes: int = 0) -> Dataset:
  """A `Dataset` of any named columns (tokens, lengths, targets, graph arrays, ...), with the
  features given (the others inferred from the 'train' split). Every column of a split must
  have the same number of rows."""
  if task not in TASKS:
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
  out = {}
  for split_name, columns in splits.items():
    columns = {k: np.ascontiguousarray(v) for k, v in columns.items()}
    rows = {k: v.shape[0] for k, v in columns.items()}
    if len(set(rows.values())) > 1:
      raise DataError(f"split {split_name!r} of {name!r} has columns of different lengths: "
                      f"{rows}.")
    out[split_name] = columns
  train = out.get("train") or next(iter(out.values()))
  x = train.get("inputs")
  info = DatasetInfo(name=name, task=task, num_classes=int(num_classes),
                     input_shape=tuple(x.shape[1:]) if x is not None else (),
                     input_dtype=str(x.dtype) if x is not None else "",
                     features=infer_features(train, features))
  return Dataset(info=info, splits=out)
