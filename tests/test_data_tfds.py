"""The `tfds` dataset builder on a tiny TFDS dataset prepared offline (array_record, no TF)."""

from __future__ import annotations

import ml_collections
import numpy as np
import pytest

from dlcore.data import load_dataset
from dlcore.errors import ConfigError, DataError

_BUILDER = {}


def _tiny_builder_cls(pkg_dir):
  """A registered TFDS builder 'dlcore_tiny_images' (Tensor features: Image needs TF to encode)."""
  if "cls" in _BUILDER:
    return _BUILDER["cls"]
  import tensorflow_datasets as tfds
  from etils import epath

  class DlcoreTinyImages(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")
    pkg_dir_path = epath.Path(pkg_dir)

    def _info(self):
      return self.dataset_info_from_configs(features=tfds.features.FeaturesDict({
          "image": tfds.features.Tensor(shape=(4, 4, 3), dtype=np.uint8),
          "label": tfds.features.ClassLabel(num_classes=3)}))

    def _split_generators(self, dl_manager):
      return {"train": self._generate_examples(10, 0), "test": self._generate_examples(5, 1)}

    def _generate_examples(self, n, seed):
      for i, (image, label) in enumerate(zip(*tiny_arrays(n, seed))):
        yield i, {"image": image, "label": int(label)}

  _BUILDER["cls"] = DlcoreTinyImages
  return DlcoreTinyImages


def tiny_arrays(n, seed):
  rng = np.random.default_rng(seed)
  return rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8), np.arange(n) % 3


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
  import tensorflow_datasets as tfds
  tfds.disable_progress_bar()
  root = tmp_path_factory.mktemp("tfds")
  (root / "pkg").mkdir()
  builder = _tiny_builder_cls(str(root / "pkg"))(data_dir=str(root / "data"),
                                                 file_format="array_record")
  builder.download_and_prepare()
  return root / "data"


def test_tfds_reads_prepared_dataset(tfds_dir):
  ds = load_dataset(ml_collections.ConfigDict(
      {"name": "tfds", "tfds_name": "dlcore_tiny_images", "data_dir": str(tfds_dir),
       "validation_size": 2}))
  assert ds.info.name == "dlcore_tiny_images" and ds.info.num_classes == 3
  assert ds.info.input_shape == (4, 4, 3) and ds.info.input_dtype == "uint8"
  assert ds.num_examples("train") == 8 and ds.num_examples("validation") == 2
  test = ds.split("test")
  images, labels = tiny_arrays(5, 1)
  order = np.argsort([im.tobytes() for im in test["inputs"]])  # TFDS shuffles records
  want = np.argsort([im.tobytes() for im in images])
  np.testing.assert_array_equal(test["inputs"][order], images[want])
  np.testing.assert_array_equal(test["label"][order], labels[want])
  assert test["label"].dtype == np.int32


def test_tfds_missing_version_and_bad_keys(tfds_dir, tmp_path):
  with pytest.raises(ConfigError, match="image_key"):
    load_dataset(ml_collections.ConfigDict(
        {"name": "tfds", "tfds_name": "dlcore_tiny_images", "data_dir": str(tfds_dir),
         "image_key": "img"}))
  with pytest.raises(DataError, match="not prepared"):
    load_dataset(ml_collections.ConfigDict(
        {"name": "tfds", "tfds_name": "dlcore_tiny_images", "tfds_data_dir": str(tmp_path)}))
  with pytest.raises(ConfigError, match="Unknown TFDS dataset"):
    load_dataset(ml_collections.ConfigDict(
        {"name": "tfds", "tfds_name": "no_such_dataset_xyz", "data_dir": str(tmp_path)}))
