"""On-device preprocessing, traced inside the jitted train/eval step: uint8 images cross
host->device as uint8 and become float32 here.

data.augment (optional; see `dlcore.data.augment`, REG-6): in training calls
`preprocess(batch, rng, train=True)` the raw images (still uint8 for uint8 datasets) are
augmented with `make_augment(data.augment)(rng, images)` before the cast and normalisation. Eval
calls, calls without rng and configs without (or with all-off) augmentation are unchanged.

data.crop_size (int, 0 = off; ImageNet: 224 of 256): every call except an augmented training call
with data.augment.random_crop_size takes the central (crop_size, crop_size) window first
(`augment.center_crop`); that training call takes a random window of the same size instead (the
AlexNet/VGG "random 224 crop of 256, central crop at test" recipe; canonical, not from seed).
An unset crop_size follows random_crop_size, else the dataset's `info.crop_size` (ImageNet: 224),
so training and eval images have one size.

Per feature (`info.features`, `dlcore.data.features`): the steps below apply to an 'inputs'
column of kind image or dense; other dense columns are cast to float32; tokens, lengths, targets,
masks and graph arrays pass unchanged (token ids stay integers).

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

from dlcore.data.augment import augment_crop_size, center_crop, make_augment
from dlcore.data.base import DatasetInfo, cfg_get
from dlcore.data.features import TRANSFORMED, infer_feature
from dlcore.errors import ConfigError

NORMALIZE = ("none", "unit", "standardize")


def make_preprocess(data_config: Any, info: DatasetInfo) -> Callable[..., dict]:
  """A pure jnp function `preprocess(batch, rng=None, train=False) -> batch` (only 'inputs' and,
  with one_hot, 'label' change); `train` is a Python bool. Augmentation (data.augment) runs only
  when `train` is True and `rng` is given."""
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
  augment = make_augment(cfg_get(data_config, "augment", None))
  if augment is not None and len(info.input_shape) not in (2, 3):
    raise ConfigError(f"data.augment needs images (H, W) or (H, W, C), but {info.name!r} has "
                      f"inputs of shape {info.input_shape}; remove data.augment.")
  crop, random_crop = _crop_sizes(data_config, info)
  features = dict(info.features) or {
      "inputs": infer_feature("inputs", np.zeros((1, *info.input_shape), info.input_dtype or
                                                 np.float32))}
  transform_inputs = "inputs" in features and features["inputs"].kind in TRANSFORMED
  cast = [k for k, f in features.items() if k != "inputs" and f.kind == "dense"]

  def preprocess(batch: dict[str, jax.Array], rng: jax.Array | None = None,
                 train: bool = False) -> dict[str, jax.Array]:
    out = dict(batch)
    for k in cast:
      if k in batch:
        out[k] = jnp.asarray(batch[k], jnp.float32)
    if one_hot:
      out["label"] = jax.nn.one_hot(batch["label"], info.num_classes, dtype=jnp.float32)
    if not transform_inputs or "inputs" not in batch:
      return out
    x = jnp.asarray(batch["inputs"])
    augmenting = train and rng is not None and augment is not None
    if crop and not (augmenting and random_crop):
      x = center_crop(x, crop)  # eval (and training without a random window crop)
    if augmenting:
      x = augment(rng, x)  # on the raw dtype (uint8 stays uint8), before normalisation
    x = x.astype(jnp.float32)
    if scale_uint8:
      x = x * jnp.float32(1.0 / 255.0)
    elif mean is not None:
      x = (x - mean) / std
    if flatten:
      x = x.reshape(x.shape[0], -1)
    out["inputs"] = x
    return out

  return preprocess


def _crop_sizes(data_config: Any, info: DatasetInfo) -> tuple[int, int]:
  """(data.crop_size, data.augment.random_crop_size), checked against the input shape; an unset
  (or 0) crop_size follows random_crop_size, else info.crop_size when unset."""
  random_crop = augment_crop_size(cfg_get(data_config, "augment", None))
  crop = cfg_get(data_config, "crop_size", None)
  if crop is None:
    crop = random_crop or info.crop_size
  if isinstance(crop, bool) or not isinstance(crop, (int, np.integer)) or crop < 0:
    raise ConfigError(f"data.crop_size must be an int >= 0 (0 = off), got {crop!r}.")
  crop = int(crop) or random_crop
  if random_crop and crop != random_crop:
    raise ConfigError(f"data.crop_size={crop} must equal data.augment.random_crop_size="
                      f"{random_crop}, so that training and evaluation images have one size.")
  if crop:
    if len(info.input_shape) not in (2, 3):
      raise ConfigError(f"data.crop_size needs images (H, W) or (H, W, C), but {info.name!r} "
                        f"has inputs of shape {info.input_shape}; set data.crop_size=0.")
    if crop > min(info.input_shape[:2]):
      raise ConfigError(f"data.crop_size={crop} is larger than the {info.input_shape[0]}x"
                        f"{info.input_shape[1]} images of {info.name!r}; use at most "
                        f"{min(info.input_shape[:2])} (or a larger data.resize_size).")
  return crop, random_crop
