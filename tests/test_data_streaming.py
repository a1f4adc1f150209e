"""Streamed (lazy) splits and the ImageNet pipeline (DS-4, REG-6 crops), fully offline.

Records are real JPEG bytes (PIL-encoded random images of varied sizes), as TFDS's
`as_data_source` returns them: with `decoders={'image': SkipDecoding()}` the image is the encoded
bytes, without it a uint8 (H, W, 3) array decoded by PIL (OpenCV is not installed), and 'label'
a Python int; a tiny TFDS dataset prepared in array_record checks that on the real reader.
References: eager decoding of the same rows, PIL/NumPy written out in the test, np.take.
"""

from __future__ import annotations

import io
import json
import threading
import time

import jax
import ml_collections
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from dlcore.data import imagenet
from dlcore.data.augment import center_crop, make_augment, random_window_crop
from dlcore.data.base import Dataset, DatasetInfo, carve_validation, load_dataset
from dlcore.data.lazy import LazySplit
from dlcore.data.loader import TrainLoader, eval_batches
from dlcore.data.prefetch import Prefetcher
from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError, DataError

SIZE = 16  # resize_size of the fake images (ImageNet: 256)
SIZES = [(23, 17), (16, 40), (31, 31), (50, 18), (17, 16), (40, 64), (19, 25), (16, 16),
         (33, 21), (28, 45), (64, 20), (21, 22), (36, 36)]  # (width, height)


def _pixels(w, h, seed, mode="RGB"):
  rng = np.random.default_rng(seed)
  shape = (h, w, 3) if mode == "RGB" else (h, w)
  return rng.integers(0, 256, shape, dtype=np.uint8)


def _jpeg(array, quality=90):
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, format="JPEG", quality=quality)
  return buf.getvalue()


class FakeSource:
  """Random-access records {'image': JPEG bytes, 'label': int} (one grayscale JPEG), counting
  the rows it reads."""

  def __init__(self, sizes=SIZES):
    self.records = [{"image": _jpeg(_pixels(w, h, i, "L" if i == 3 else "RGB")),
                     "label": (7 * i) % 5, "file_name": b"x.JPEG"}
                    for i, (w, h) in enumerate(sizes)]
    self.reads: list[int] = []

  def __len__(self):
    return len(self.records)

  def __getitem__(self, i):
    self.reads.append(int(i))
    return self.records[i]

  def __getitems__(self, rows):
    return [self[i] for i in rows]


_EAGER: dict = {}


def _lazy(source=None, workers=3) -> LazySplit:
  return LazySplit(source or FakeSource(), imagenet.columns(SIZE), num_workers=workers,
                   name="fake")


def _eager(source) -> dict[str, np.ndarray]:
  """Every record decoded one by one, in order (the reference for the lazy split)."""
  return {"inputs": np.stack([imagenet.decode_image(r["image"], SIZE) for r in source.records]),
          "label": np.asarray([r["label"] for r in source.records], np.int32)}


def _pil_reference(data: bytes, size: int) -> np.ndarray:
  """Full PIL decode, RGB, shorter side -> size (longer floor(size * long / short)), bilinear;
  central crop by NumPy slicing."""
  image = Image.open(io.BytesIO(data)).convert("RGB")
  w, h = image.size
  new = (size, size * h // w) if w <= h else (size * w // h, size)
  pixels = np.asarray(image.resize(new, Image.BILINEAR))
  top, left = (new[1] - size) // 2, (new[0] - size) // 2
  return pixels[top:top + size, left:left + size]


# ---------------------------------------------------------------- host decode

def test_decode_matches_pil_reference_and_exact_crop():
  for i, (w, h) in enumerate(SIZES):
    data = _jpeg(_pixels(w, h, i))
    got = imagenet.decode_image(data, SIZE, jpeg_draft=False)
    assert got.shape == (SIZE, SIZE, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, _pil_reference(data, SIZE))
    if min(w, h) < 2 * SIZE:  # JPEG draft mode only acts on images >= 2x the target
      np.testing.assert_array_equal(imagenet.decode_image(data, SIZE), got)
  # shorter side already SIZE: no resampling, so exactly the NumPy center crop of the pixels
  data = _jpeg(_pixels(SIZE + 9, SIZE, 0))
  decoded = np.asarray(Image.open(io.BytesIO(data)))
  np.testing.assert_array_equal(imagenet.decode_image(data, SIZE), decoded[:, 4:4 + SIZE])
  # grayscale JPEG -> 3 equal channels
  gray = imagenet.decode_image(_jpeg(_pixels(20, 30, 1, "L")), SIZE)
  assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 0], gray[..., 2])


def test_decode_of_arrays_equals_decode_of_bytes():
  """TFDS's default decoding gives uint8 arrays: the array path gives the same pixels."""
  data = _jpeg(_pixels(37, 23, 5))
  array = np.asarray(Image.open(io.BytesIO(data)))
  np.testing.assert_array_equal(imagenet.decode_image(array, SIZE),
                                imagenet.decode_image(data, SIZE))
  gray = np.asarray(Image.open(io.BytesIO(_jpeg(_pixels(20, 30, 1, "L")))))[..., None]
  assert imagenet.decode_image(gray, SIZE).shape == (SIZE, SIZE, 3)
  with pytest.raises(DataError, match="uint8 image"):
    imagenet.decode_image(np.zeros((20, 20, 2), np.uint8), SIZE)


def test_jpeg_draft_on_large_images_is_close_to_full_decode():
  """A smooth 640x520 photo-like image decoded at 1/8 scale (draft) then resized to 64."""
  yy, xx = np.mgrid[0:520, 0:640] / 100.0
  smooth = np.stack([np.sin(xx) * 100 + 120, np.cos(yy) * 100 + 120, (xx + yy) * 20], -1)
  data = _jpeg(np.clip(smooth, 0, 255).astype(np.uint8), quality=95)
  full = _pil_reference(data, 64)
  np.testing.assert_array_equal(imagenet.decode_image(data, 64, jpeg_draft=False), full)
  drafted = imagenet.decode_image(data, 64)
  assert drafted.shape == (64, 64, 3)
  assert np.abs(drafted.astype(float) - full).mean() < 3.0


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 3000), st.integers(1, 512))
def test_resized_shape_keeps_aspect(w, h, size):
  """Shorter side == size; the longer one keeps the aspect ratio to within one pixel."""
  nw, nh = imagenet.resized_shape(w, h, size)
  assert min(nw, nh) == size and (nw >= nh) == (w >= h or nw == nh)
  ratio = max(w, h) / min(w, h)
  assert size * ratio - 1 < max(nw, nh) <= max(size, size * ratio + 1e-9)


# ---------------------------------------------------------------- lazy columns

def test_lazy_columns_equal_eager_and_read_only_requested_rows():
  source = FakeSource()
  split, eager = _lazy(source), _eager(source)
  inputs, labels = split["inputs"], split["label"]
  assert len(inputs) == 13 and inputs.shape == (13, SIZE, SIZE, 3) and inputs.dtype == np.uint8
  assert labels.shape == (13,) and labels.dtype == np.int32 and split.num_rows == 13
  assert source.reads == []
  idx = np.array([7, 2, 2, 12, 0])
  np.testing.assert_array_equal(inputs[idx], eager["inputs"][idx])
  assert sorted(source.reads) == sorted(idx.tolist())  # each requested row read once, no more
  np.testing.assert_array_equal(labels[3:9:2], eager["label"][3:9:2])
  np.testing.assert_array_equal(inputs[-1], eager["inputs"][-1])
  np.testing.assert_array_equal(inputs[:2], eager["inputs"][:2])  # the trainer's init sample
  mask = np.arange(13) % 4 == 1
  np.testing.assert_array_equal(labels[mask], eager["label"][mask])
  source.reads.clear()
  got = split.gather([5, 1])  # all columns from one read of each record
  assert sorted(source.reads) == [1, 5]
  np.testing.assert_array_equal(got["label"], eager["label"][[5, 1]])
  np.testing.assert_array_equal(np.asarray(inputs), eager["inputs"])  # small: allowed
  with pytest.raises(IndexError):
    inputs[13]


def test_whole_column_arrays_are_size_limited(monkeypatch):
  from dlcore.data import lazy
  monkeypatch.setattr(lazy, "MAX_ARRAY_BYTES", 1000)
  split = _lazy()
  assert split["inputs"].nbytes == 13 * SIZE * SIZE * 3
  with pytest.raises(DataError, match="lazy and would take"):
    np.asarray(split["inputs"])
  np.testing.assert_array_equal(np.asarray(split["label"]), [(7 * i) % 5 for i in range(13)])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-13, 12), max_size=9), st.integers(1, 5))
def test_lazy_gather_property(rows, workers):
  source = FakeSource()
  split = _lazy(source, workers)
  eager = _EAGER.setdefault("fake", _eager(source))
  got = split.gather(np.asarray(rows, np.int64))
  for k in ("inputs", "label"):
    np.testing.assert_array_equal(got[k], eager[k][np.asarray(rows, np.int64)])


def test_decode_error_names_the_record_and_labels_skip_the_image_decode():
  source = FakeSource()
  source.records[4] = {"image": b"not a jpeg", "label": 9}
  split = _lazy(source)
  with pytest.raises(DataError, match="'inputs' of record 4 of fake"):
    split["inputs"][[3, 4]]
  assert split["label"][4] == 9  # reading labels does not decode the JPEG


def test_carve_validation_of_lazy_split_reads_nothing():
  source = FakeSource()
  split, eager = _lazy(source), _eager(source)
  info = DatasetInfo("fake", "multiclass", 5, (SIZE, SIZE, 3), "uint8")
  ds = carve_validation(Dataset(info, {"train": split, "test": split}), 4, seed=1)
  assert source.reads == []
  assert ds.num_examples("train") == 9 and ds.num_examples("validation") == 4
  perm = np.random.default_rng(1).permutation(13)
  val_idx, train_idx = np.sort(perm[:4]), np.sort(perm[4:])
  for name, idx in (("validation", val_idx), ("train", train_idx)):
    for k in ("inputs", "label"):
      np.testing.assert_array_equal(ds.split(name)[k][np.arange(len(idx))], eager[k][idx])
  sub = ds.split("train").take([1, 0])  # a view of a view maps to the source rows
  np.testing.assert_array_equal(sub["label"][[0, 1]], eager["label"][train_idx[[1, 0]]])


# ---------------------------------------------------------------- loaders

def test_train_loader_lazy_equals_eager_and_resumes_exactly():
  source = FakeSource()
  eager = _eager(source)
  lazy_loader = TrainLoader(_lazy(source), 4, seed=3)
  eager_loader = TrainLoader(eager, 4, seed=3)
  assert lazy_loader.steps_per_epoch == 3
  state = None
  expected = []
  for step in range(8):  # 2+ epochs
    a, b = next(lazy_loader), next(eager_loader)
    assert a.keys() == b.keys() == {"inputs", "label", "mask"}
    for k in a:
      np.testing.assert_array_equal(a[k], b[k])
    if step == 4:
      state = json.loads(json.dumps(lazy_loader.get_state()))
    elif step > 4:
      expected.append(a)
  assert len(source.reads) == 8 * 4  # one read per row of a batch, labels included
  resumed = TrainLoader(_lazy(FakeSource()), 4, seed=0)
  resumed.set_state(state)
  for want in expected:
    got = next(resumed)
    for k in want:
      np.testing.assert_array_equal(got[k], want[k])
  # through the background prefetcher (decode overlaps the consumer): the same batches
  reference = TrainLoader(eager, 4, seed=3)
  with Prefetcher(TrainLoader(_lazy(FakeSource()), 4, seed=3)) as pre:
    for _ in range(4):
      got, want = next(pre), next(reference)
      for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_eval_batches_pad_and_mask_lazy():
  source = FakeSource()
  eager = _eager(source)
  lazy_batches = list(eval_batches(_lazy(source), 5))
  eager_batches = list(eval_batches(eager, 5))
  assert len(lazy_batches) == 3
  for a, b in zip(lazy_batches, eager_batches):
    for k in b:
      np.testing.assert_array_equal(a[k], b[k])
  last = lazy_batches[-1]
  np.testing.assert_array_equal(last["mask"], [1, 1, 1, 0, 0])
  assert not last["inputs"][3:].any() and not last["label"][3:].any()
  np.testing.assert_array_equal(np.concatenate([b["inputs"] for b in lazy_batches])[:13],
                                eager["inputs"])
  assert sorted(source.reads) == list(range(13))  # every row read exactly once
  it = eval_batches(_lazy(FakeSource()), 5)  # closing early stops the read-ahead thread
  next(it)
  it.close()
  deadline = time.monotonic() + 5.0
  while any(t.name.startswith("dlcore-eval-read") for t in threading.enumerate()):
    assert time.monotonic() < deadline, "the eval read-ahead thread outlived its generator"
    time.sleep(0.01)


# ---------------------------------------------------------------- on-device crops

def test_random_window_crop_is_a_window_and_reproducible():
  x = np.random.default_rng(0).integers(0, 256, (64, 9, 11, 3), dtype=np.uint8)
  key = jax.random.key(4)
  out = np.asarray(jax.jit(random_window_crop, static_argnums=2)(key, x, 6))
  assert out.shape == (64, 6, 6, 3) and out.dtype == np.uint8
  seen = set()
  for b in range(64):
    hits = [(oy, ox) for oy in range(4) for ox in range(6)
            if np.array_equal(out[b], x[b, oy:oy + 6, ox:ox + 6])]
    assert len(hits) == 1
    seen.add(hits[0])
  assert len(seen) > 12  # offsets spread over the 4 x 6 possible windows
  small = np.random.default_rng(1).integers(0, 256, (256, 5, 6), dtype=np.uint8)
  crops = np.asarray(random_window_crop(key, small, 3))
  corners = {(oy, ox) for b in range(256) for oy in range(3) for ox in range(4)
             if np.array_equal(crops[b], small[b, oy:oy + 3, ox:ox + 3])}
  assert corners == {(oy, ox) for oy in range(3) for ox in range(4)}  # U{0..H-s} x U{0..W-s}
  np.testing.assert_array_equal(out, random_window_crop(key, x, 6))
  assert not np.array_equal(out, random_window_crop(jax.random.key(5), x, 6))
  np.testing.assert_array_equal(random_window_crop(key, x, 0), x)
  np.testing.assert_array_equal(center_crop(x, 6), x[:, 1:7, 2:8])
  with pytest.raises(ConfigError, match="larger than the 9x11"):
    random_window_crop(key, x, 10)


def test_preprocess_center_crops_in_eval_and_random_crops_in_training():
  info = DatasetInfo("img", "multiclass", 5, (12, 12, 3), "uint8", crop_size=8)
  x = np.random.default_rng(2).integers(0, 256, (16, 12, 12, 3), dtype=np.uint8)
  batch = {"inputs": x, "label": np.zeros(16, np.int32)}
  center = x[:, 2:10, 2:10].astype(np.float32) / 255
  cfg = {"augment": {"random_crop_size": 8, "horizontal_flip": True}}
  pre = make_preprocess(cfg, info)
  rng = jax.random.key(1)
  for out in (pre(batch), pre(batch, rng), pre(batch, train=True),
              make_preprocess({}, info)(batch, rng, True)):  # info.crop_size is the default
    np.testing.assert_allclose(out["inputs"], center, rtol=1e-6)
  got = np.asarray(jax.jit(pre, static_argnums=2)(batch, rng, True)["inputs"])
  want = np.asarray(make_augment(cfg["augment"])(rng, x), np.float32) / 255
  np.testing.assert_allclose(got, want, rtol=1e-6)
  assert got.shape == (16, 8, 8, 3) and not np.allclose(got, center)
  # training without a random window crop: the center crop, then the flip
  flip = make_preprocess({"crop_size": 8, "augment": {"horizontal_flip": True}}, info)
  flipped = np.asarray(flip(batch, rng, True)["inputs"])
  for b in range(16):
    assert np.allclose(flipped[b], center[b]) or np.allclose(flipped[b], center[b, :, ::-1])
  with pytest.raises(ConfigError, match="must equal"):
    make_preprocess({"crop_size": 6, "augment": {"random_crop_size": 8}}, info)
  with pytest.raises(ConfigError, match="larger than the 12x12"):
    make_preprocess({"crop_size": 13}, info)


def test_imagenet_standardisation():
  info = DatasetInfo("imagenet2012", "multiclass", 1000, (SIZE, SIZE, 3), "uint8",
                     mean=imagenet.MEAN, std=imagenet.STD, crop_size=0)
  x = np.random.default_rng(0).integers(0, 256, (2, SIZE, SIZE, 3), dtype=np.uint8)
  got = make_preprocess({"normalize": "standardize"}, info)({"inputs": x})["inputs"]
  want = (x / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
  np.testing.assert_allclose(got, want, atol=1e-5)


# ---------------------------------------------------------------- the TFDS dataset

def test_missing_imagenet_fails_fast_naming_the_directory(tmp_path):
  load_dataset({"name": "digits"})  # imports (TFDS is imported lazily below)
  import tensorflow_datasets  # noqa: F401
  start = time.perf_counter()
  with pytest.raises(DataError) as err:
    load_dataset(ml_collections.ConfigDict({"name": "imagenet2012", "data_dir": str(tmp_path)}))
  assert time.perf_counter() - start < 5.0
  message = str(err.value)
  assert str(tmp_path / "imagenet2012") in message
  assert str(tmp_path / "downloads" / "manual") in message and "ILSVRC2012_img_val.tar" in message
  with pytest.raises(ConfigError, match="crop_size"):
    load_dataset({"name": "imagenet2012", "data_dir": str(tmp_path), "crop_size": 300})


_BUILDER: dict = {}
TFDS_SIZES = [(40, 30), (30, 50), (64, 64), (25, 44), (80, 33)]


def _fake_imagenet_cls(pkg_dir):
  """A TFDS builder with imagenet2012's features (JPEG image, 1000-class label, file name)."""
  if "cls" in _BUILDER:
    return _BUILDER["cls"]
  import tensorflow_datasets as tfds
  from etils import epath

  class DlcoreFakeImagenet(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")
    pkg_dir_path = epath.Path(pkg_dir)

    def _info(self):
      return self.dataset_info_from_configs(features=tfds.features.FeaturesDict({
          "image": tfds.features.Image(encoding_format="jpeg"),
          "label": tfds.features.ClassLabel(num_classes=1000),
          "file_name": tfds.features.Text()}))

    def _split_generators(self, dl_manager):
      return {"train": self._generate_examples(0), "validation": self._generate_examples(100)}

    def _generate_examples(self, offset):
      for i, (w, h) in enumerate(TFDS_SIZES):
        yield i, {"image": io.BytesIO(_jpeg(_pixels(w, h, offset + i))), "label": offset + i,
                  "file_name": f"{offset + i}.JPEG"}

  _BUILDER["cls"] = DlcoreFakeImagenet
  return DlcoreFakeImagenet


@pytest.fixture(scope="module")
def fake_tfds(tmp_path_factory):
  import tensorflow_datasets as tfds
  tfds.disable_progress_bar()
  root = tmp_path_factory.mktemp("tfds")
  (root / "pkg").mkdir()
  builder = _fake_imagenet_cls(str(root / "pkg"))(data_dir=str(root / "data"),
                                                  file_format="array_record")
  builder.download_and_prepare()
  return builder, root / "data"


def test_tfds_records_and_the_lazy_imagenet_dataset(fake_tfds):
  import tensorflow_datasets as tfds
  builder, data_dir = fake_tfds
  decoded = builder.as_data_source(split="validation")
  raw = builder.as_data_source(split="validation",
                               decoders={"image": tfds.decode.SkipDecoding()})
  first = decoded[0]
  assert isinstance(first["label"], int) and isinstance(raw[0]["image"], bytes)
  assert first["image"].dtype == np.uint8 and first["image"].ndim == 3
  for i in range(len(raw)):  # both record forms decode to the same pixels (draft off)
    np.testing.assert_array_equal(imagenet.decode_image(decoded[i]["image"], SIZE),
                                  imagenet.decode_image(raw[i]["image"], SIZE, jpeg_draft=False))
  ds = load_dataset(ml_collections.ConfigDict(
      {"name": "imagenet2012", "tfds_name": "dlcore_fake_imagenet", "data_dir": str(data_dir),
       "resize_size": SIZE, "crop_size": 12, "num_workers": 2, "validation_size": 2,
       "jpeg_draft": False}))
  assert ds.info.num_classes == 1000 and ds.info.input_shape == (SIZE, SIZE, 3)
  assert ds.info.mean == imagenet.MEAN and ds.info.crop_size == 12
  assert ds.num_examples("train") == 3 and ds.num_examples("validation") == 2
  test = ds.split("test")  # TFDS 'validation'
  assert isinstance(test, LazySplit) and test.num_rows == 5
  want = [_pil_reference(r["image"], SIZE) for r in raw.__getitems__(list(range(5)))]
  got = next(eval_batches(test, 5))
  np.testing.assert_array_equal(got["inputs"], np.stack(want))
  np.testing.assert_array_equal(got["label"], [r["label"] for r in raw.__getitems__(range(5))])
  assert sorted(got["label"].tolist()) == list(range(100, 105))
  sample = make_preprocess({}, ds.info)({k: v[:2] for k, v in ds.split("train").items()})
  assert sample["inputs"].shape == (2, 12, 12, 3)
  with pytest.raises(ConfigError, match="no split 'test'"):
    load_dataset({"name": "imagenet2012", "tfds_name": "dlcore_fake_imagenet",
                  "data_dir": str(data_dir), "test_split": "test"})
