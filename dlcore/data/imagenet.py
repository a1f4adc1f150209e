"""ImageNet / ILSVRC-2012 (curriculum DS-4: 1000 classes, 1.28M training images) from the TFDS
`imagenet2012` array_record files, streamed: splits are `LazySplit`s that read and decode only
the rows of each batch, in a pool of `data.num_workers` threads.

Host decode, deterministic so the loader's resume state stays exact (`decode_image`):
  1. JPEG -> RGB (PIL; grayscale and other modes converted). With `jpeg_draft`, PIL's JPEG
     draft mode decodes at 1/2, 1/4 or 1/8 scale when the image is at least that many times
     larger than the target (DCT-domain downscaling: much faster on large photos).
  2. Resize so the shorter side is S = data.resize_size (256), the longer side
     int(S * long / short) (torchvision's rounding), bilinear with antialiasing.
  3. Center-crop S x S: top = (h - S) // 2, left = (w - S) // 2.  Result: uint8 (S, S, 3).
Steps 2-3 are the AlexNet "rescale the shorter side to 256, crop the central 256x256 patch"
(canonical, not from seed: Krizhevsky et al. 2012, §2). Training randomness (the random 224
window, flips) runs on device: data.augment.random_crop_size / horizontal_flip, and evaluation
takes the central data.crop_size (224) window (`dlcore.data.preprocess`).

`info.mean`/`info.std` are the published ImageNet channel statistics (0.485, 0.456, 0.406) and
(0.229, 0.224, 0.225) x 255 (canonical, not from seed), used by data.normalize='standardize';
the 1.28M training images are never scanned for them.

Keys: data_dir / tfds_data_dir, download (False), resize_size (256), crop_size (7/8 of it: 224),
num_workers (16), jpeg_draft (True), train_split ('train'), test_split ('validation': TFDS's
imagenet2012 'test' split has no labels), tfds_name ('imagenet2012'; any TFDS dataset with the
same {'image', 'label'} records works, e.g. 'imagenette' or 'imagenet2012_subset/10pct').
Preparing imagenet2012 needs ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar in
`<tfds data dir>/downloads/manual`, download=True once, and the `tensorflow` package (TFDS's
ImageNet builder reads the tars with tf.io.gfile); it writes array_record files, which are then
read with random access and without TensorFlow.
"""

from __future__ import annotations

import functools
import io
import pathlib
from typing import Any

import numpy as np

from dlcore.data.base import DATASETS, Dataset, DatasetInfo, cfg_get
from dlcore.data.lazy import Column, LazySplit
from dlcore.data.tfds_source import prepared_builder, tfds_data_dir
from dlcore.errors import ConfigError, DataError

TFDS_NAME = "imagenet2012"
MEAN = tuple(255.0 * m for m in (0.485, 0.456, 0.406))
STD = tuple(255.0 * s for s in (0.229, 0.224, 0.225))
MANUAL_FILES = ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar")


def resized_shape(width: int, height: int, size: int) -> tuple[int, int]:
  """(width, height) after resizing the shorter side to `size`: the longer side becomes
  int(size * long / short) (torchvision's rounding), never less than `size`."""
  if width <= height:
    return size, max(size, int(size * height / width))
  return max(size, int(size * width / height)), size


def decode_image(value: Any, size: int, jpeg_draft: bool = True) -> np.ndarray:
  """uint8 (size, size, 3): encoded image bytes (JPEG, PNG, ...) or a decoded array (H, W),
  (H, W, 1), (H, W, 3) or (H, W, 4) -> RGB -> shorter side resized to `size` (bilinear,
  antialiased) -> central size x size crop. See the module docstring (DS-4)."""
  from PIL import Image
  if isinstance(value, (bytes, bytearray, memoryview, np.bytes_)):
    image = Image.open(io.BytesIO(bytes(value)))
    target = resized_shape(*image.size, size)
    if jpeg_draft:
      image.draft("RGB", target)  # no-op unless JPEG and >= 2x the target
  else:
    array = np.asarray(value)
    if array.ndim == 3 and array.shape[-1] == 1:
      array = array[..., 0]
    if array.dtype != np.uint8 or not (array.ndim == 2 or
                                       (array.ndim == 3 and array.shape[-1] in (3, 4))):
      raise DataError(f"Expected a uint8 image (H, W[, 1|3|4]) or encoded bytes, got "
                      f"{array.dtype} {array.shape}; decode images to uint8 RGB.")
    image = Image.fromarray(array)
    target = resized_shape(*image.size, size)
  if image.mode != "RGB":
    image = image.convert("RGB")
  if image.size != target:
    image = image.resize(target, Image.BILINEAR)
  left, top = (target[0] - size) // 2, (target[1] - size) // 2
  return np.asarray(image.crop((left, top, left + size, top + size)), np.uint8)


def columns(size: int, jpeg_draft: bool = True) -> dict[str, Column]:
  """The `LazySplit` columns of TFDS imagenet2012 records {'image': JPEG bytes or array,
  'label': int, ...}: 'inputs' uint8 (size, size, 3) by `decode_image`, 'label' int32."""
  decode = functools.partial(decode_image, size=size, jpeg_draft=jpeg_draft)
  return {"inputs": Column((size, size, 3), np.uint8, lambda record: decode(record["image"])),
          "label": Column((), np.int32, lambda record: record["label"])}


def _positive_int(value: Any, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ConfigError(f"{name} must be a positive int, got {value!r}.")
  return int(value)


def _manual_remedy(version_dir: pathlib.Path) -> str:
  manual = version_dir.parent.parent / "downloads" / "manual"
  return (f"put {' and '.join(MANUAL_FILES)} (from https://image-net.org) in {manual} and run "
          f"once with --config.data.download=True (preparing needs the tensorflow package)")


def _data_source(builder: Any, split: str) -> Any:
  """The split's random-access source with undecoded images (bytes; `decode_image` decodes)."""
  import tensorflow_datasets as tfds
  available = sorted(builder.info.splits)
  if split.split("[")[0] not in available:
    raise ConfigError(f"{builder.name} has no split {split!r}; valid: {', '.join(available)} "
                      "(set data.train_split / data.test_split).")
  try:
    return builder.as_data_source(split=split, decoders={"image": tfds.decode.SkipDecoding()})
  except (NotImplementedError, ValueError) as e:
    raise DataError(f"{builder.name} in {builder.data_dir} is not in the array_record format "
                    f"({str(e).strip().splitlines()[0][:120]}); prepare it again with "
                    "--config.data.download=True in a new data dir.") from None


@DATASETS.register(TFDS_NAME)
def build_imagenet2012(data_config: Any) -> Dataset:
  """DS-4 ImageNet as lazy splits 'train' and 'test' (= TFDS 'validation'); keys in the module
  docstring. Fails in about a second, naming the directory, when the dataset is not prepared."""
  size = _positive_int(cfg_get(data_config, "resize_size", 256), "data.resize_size")
  crop = cfg_get(data_config, "crop_size", size * 7 // 8)  # 224 of 256
  if isinstance(crop, bool) or not isinstance(crop, (int, np.integer)) or not 0 <= crop <= size:
    raise ConfigError(f"data.crop_size must be an int in [0, data.resize_size={size}], got "
                      f"{crop!r}.")
  workers = _positive_int(cfg_get(data_config, "num_workers", 16), "data.num_workers")
  draft = bool(cfg_get(data_config, "jpeg_draft", True))
  download = bool(cfg_get(data_config, "download", False))
  tfds_name = str(cfg_get(data_config, "tfds_name", TFDS_NAME))
  remedy = _manual_remedy if tfds_name.startswith(TFDS_NAME) else None
  builder = prepared_builder(tfds_name, tfds_data_dir(data_config), download, remedy)
  if download:
    builder.download_and_prepare(file_format="array_record")
  features = builder.info.features
  if "image" not in features or "label" not in features:
    raise ConfigError(f"TFDS {tfds_name!r} records have keys {sorted(features)}, not 'image' and "
                      "'label'; use data.name='tfds' for it instead.")
  split_columns = columns(size, draft)

  def lazy(split: str) -> LazySplit:
    return LazySplit(_data_source(builder, split), split_columns, num_workers=workers,
                     name=f"{tfds_name}[{split}]")

  splits = {"train": lazy(str(cfg_get(data_config, "train_split", "train"))),
            "test": lazy(str(cfg_get(data_config, "test_split", "validation")))}
  num_classes = int(getattr(features["label"], "num_classes", 0) or 1000)
  info = DatasetInfo(name=tfds_name.split(":")[0], task="multiclass", num_classes=num_classes,
                     input_shape=(size, size, 3), input_dtype="uint8", mean=MEAN, std=STD,
                     crop_size=int(crop))
  return Dataset(info=info, splits=splits)
