"""On-device preprocessing, traced inside the jitted train/eval step: uint8 images cross
host->device as uint8 and become float32 here.

data.normalize: 'none' (cast to float32 only), 'unit' (x / 255 for uint8 inputs; float inputs
unchanged), 'standardize' ((x - mean) / std per channel with info.mean/std). When the key is
absent the default is 'unit' for uint8 inputs and 'none' otherwise. data.flatten reshapes
inputs to (B, -1); data.one_hot replaces 'label' by float32 one-hot of info.num_classes.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.data.base import DatasetInfo, cfg_get
from dlcore.errors import ConfigError

NORMALIZE = ("none", "unit", "standardize")


def make_preprocess(data_config: Any, info: DatasetInfo) -> Callable[[dict], dict]:
  """A pure jnp function batch -> batch (only 'inputs' and, with one_hot, 'label' change)."""
  default = "unit" if info.input_dtype == "uint8" else "none"
  normalize = str(cfg_get(data_config, "normalize", default))
  if normalize not in NORMALIZE:
    raise ConfigError(f"Unknown data.normalize {normalize!r}; valid: {', '.join(NORMALIZE)}.")
  flatten = bool(cfg_get(data_config, "flatten", False))
  one_hot = bool(cfg_get(data_config, "one_hot", False))
  if one_hot and info.num_classes < 2:
    raise ConfigError(f"data.one_hot=True needs a classification dataset; {info.name!r} has "
                      f"task {info.task!r}.")
  mean = std = None
  if normalize == "standardize":
    if not info.mean or not info.std:
      raise ConfigError(f"data.normalize='standardize' needs info.mean/std of {info.name!r}; "
                        "build the dataset with load_dataset.")
    mean = np.asarray(info.mean, np.float32)
    std = np.asarray(info.std, np.float32)
    std = np.where(std > 0, std, np.float32(1.0))
  scale_uint8 = normalize == "unit" and info.input_dtype == "uint8"

  def preprocess(batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
    out = dict(batch)
    x = jnp.asarray(batch["inputs"]).astype(jnp.float32)
    if scale_uint8:
      x = x * jnp.float32(1.0 / 255.0)
    elif mean is not None:
      x = (x - mean) / std
    if flatten:
      x = x.reshape(x.shape[0], -1)
    out["inputs"] = x
    if one_hot:
      out["label"] = jax.nn.one_hot(batch["label"], info.num_classes, dtype=jnp.float32)
    return out

  return preprocess
