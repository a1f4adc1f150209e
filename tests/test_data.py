"""Tests for dlcore.data: IDX parsing, datasets, loaders, prefetching and preprocessing."""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import struct
import threading
import time

import jax
import ml_collections
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcore.data import (DATASETS, Prefetcher, TrainLoader, eval_batches, load_dataset,
                         make_preprocess, num_eval_batches, read_idx, resolve_data_dir)
from dlcore.data.base import DatasetInfo, carve_validation
from dlcore.data.mnist import FILES
from dlcore.data.synthetic import sum4_arrays
from dlcore.errors import ConfigError, DataError

REPO = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir() -> pathlib.Path | None:
  """$DLCORE_DATA_DIR, else <repo>/../shared/data; None when it has no mnist/ folder."""
  for raw in (os.environ.get("DLCORE_DATA_DIR", ""), str(REPO.parent / "shared" / "data")):
    if raw and (pathlib.Path(raw) / "mnist").is_dir():
      return pathlib.Path(raw)
  return None


def cfg(**kw) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(kw)


# ---------------------------------------------------------------- IDX (independent writer)

def write_idx(path, array, magic=None, compress=True, extra=b"", cut=0):
  """Writes `array` as IDX with struct.pack (independent of dlcore's reader)."""
  codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}
  arr = np.asarray(array)
  if magic is None:
    magic = (codes[arr.dtype] << 8) | arr.ndim
  raw = struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape)
  raw += arr.astype(arr.dtype.newbyteorder(">")).tobytes() + extra
  raw = raw[:len(raw) - cut]
  opener = gzip.open if compress else open
  with opener(path, "wb") as f:
    f.write(raw)
  return path


def write_mnist(folder, n_train=12, n_test=5, seed=0):
  folder.mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(seed)
  arrays = {}
  for split, n in (("train", n_train), ("test", n_test)):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    write_idx(folder / FILES[split][0], images)
    write_idx(folder / FILES[split][1], labels)
    arrays[split] = (images, labels)
  return arrays


@pytest.mark.parametrize("dtype,shape", [(np.uint8, (7, 28, 28)), (np.uint8, (9,)),
                                         (np.int32, (3, 4)), (np.float32, (2, 3, 5))])
@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, dtype, shape, compress):
  arr = (np.arange(np.prod(shape)) % 251 - (0 if dtype == np.uint8 else 100)).astype(dtype)
  arr = arr.reshape(shape)
  path = write_idx(tmp_path / ("a.idx.gz" if compress else "a.idx"), arr, compress=compress)
  out = read_idx(path)
  assert out.dtype == dtype and out.shape == shape and out.flags.writeable
  np.testing.assert_array_equal(out, arr)


def test_idx_mnist_magics(tmp_path):
  images = np.zeros((2, 28, 28), np.uint8)
  path = write_idx(tmp_path / "i.gz", images)
  assert struct.unpack(">I", gzip.open(path).read(4))[0] == 2051
  assert read_idx(path, expected_magic=2051).shape == (2, 28, 28)


def _assert_names(excinfo, path):
  msg = str(excinfo.value)
  assert str(path) in msg, msg
  assert "\n" not in msg


def test_idx_bad_magic(tmp_path):
  path = write_idx(tmp_path / "bad.gz", np.zeros(4, np.uint8), magic=0x12345678)
  with pytest.raises(DataError, match="bad magic") as e:
    read_idx(path)
  _assert_names(e, path)
  good = write_idx(tmp_path / "labels.gz", np.zeros(4, np.uint8))
  with pytest.raises(DataError, match=r"2049.*expected 2051") as e:
    read_idx(good, expected_magic=2051)
  _assert_names(e, good)


def test_idx_truncated_gzip(tmp_path):
  path = write_idx(tmp_path / "t.gz", np.arange(1000, dtype=np.uint8))
  data = path.read_bytes()
  path.write_bytes(data[:len(data) // 2])
  with pytest.raises(DataError, match="truncated") as e:
    read_idx(path)
  _assert_names(e, path)


def test_idx_not_gzip(tmp_path):
  path = tmp_path / "garbage.gz"
  path.write_bytes(b"this is not gzip at all, just some garbage bytes")
  with pytest.raises(DataError, match="not gzip") as e:
    read_idx(path)
  _assert_names(e, path)


@pytest.mark.parametrize("cut,extra,word", [(3, b"", "shorter"), (0, b"xy", "longer")])
def test_idx_payload_length(tmp_path, cut, extra, word):
  path = write_idx(tmp_path / "p.gz", np.zeros((3, 4, 4), np.uint8), extra=extra, cut=cut)
  with pytest.raises(DataError, match=word) as e:
    read_idx(path)
  _assert_names(e, path)


def test_idx_missing_file(tmp_path):
  with pytest.raises(DataError, match="not found") as e:
    read_idx(tmp_path / "nope.gz")
  _assert_names(e, tmp_path / "nope.gz")


# ---------------------------------------------------------------- MNIST builder on fake files

def test_mnist_fake_files(tmp_path):
  arrays = write_mnist(tmp_path / "mnist")
  ds = load_dataset(cfg(name="mnist", data_dir=str(tmp_path)))
  for split in ("train", "test"):
    np.testing.assert_array_equal(ds.split(split)["inputs"][..., 0], arrays[split][0])
    np.testing.assert_array_equal(ds.split(split)["label"], arrays[split][1])
    assert ds.split(split)["label"].dtype == np.int32
  assert ds.info.input_shape == (28, 28, 1) and ds.info.input_dtype == "uint8"
  assert ds.info.mean[0] == pytest.approx(arrays["train"][0].mean())
  sub = load_dataset(cfg(name="mnist", path=str(tmp_path / "mnist"), num_train=4))
  assert sub.num_examples("train") == 4
  rel = load_dataset(cfg(name="mnist", data_dir=str(tmp_path), path="mnist"))
  assert rel.num_examples("test") == 5


def test_mnist_count_mismatch(tmp_path):
  folder = tmp_path / "mnist"
  write_mnist(folder)
  write_idx(folder / FILES["train"][1], np.zeros(11, np.uint8))
  with pytest.raises(DataError, match="count mismatch") as e:
    load_dataset(cfg(name="mnist", data_dir=str(tmp_path)))
  _assert_names(e, folder / FILES["train"][1])


def test_mnist_bad_label_value(tmp_path):
  folder = tmp_path / "mnist"
  write_mnist(folder)
  write_idx(folder / FILES["test"][1], np.full(5, 10, np.uint8))
  with pytest.raises(DataError, match="outside 0..9") as e:
    load_dataset(cfg(name="mnist", data_dir=str(tmp_path)))
  _assert_names(e, folder / FILES["test"][1])


def test_mnist_missing_file(tmp_path):
  folder = tmp_path / "mnist"
  write_mnist(folder)
  (folder / FILES["test"][0]).unlink()
  with pytest.raises(DataError, match="expected the 4 MNIST IDX files") as e:
    load_dataset(cfg(name="mnist", data_dir=str(tmp_path)))
  _assert_names(e, folder / FILES["test"][0])


def test_missing_data_dir(tmp_path, monkeypatch):
  monkeypatch.delenv("DLCORE_DATA_DIR", raising=False)
  with pytest.raises(DataError, match="No data dir.*DLCORE_DATA_DIR"):
    resolve_data_dir(cfg(data_dir=""))
  with pytest.raises(DataError, match="No data dir"):
    load_dataset(cfg(name="mnist"))
  missing = tmp_path / "nowhere"
  with pytest.raises(DataError) as e:
    resolve_data_dir(cfg(data_dir=str(missing)))
  _assert_names(e, missing)
  monkeypatch.setenv("DLCORE_DATA_DIR", str(tmp_path))
  assert resolve_data_dir(cfg()) == tmp_path
  with pytest.raises(DataError, match="does not exist"):
    load_dataset(cfg(name="mnist"))


@pytest.mark.needs_data
def test_real_mnist():
  root = shared_data_dir()
  if root is None:
    pytest.skip("needs ../shared/data (set DLCORE_DATA_DIR)")
  ds = load_dataset(cfg(name="mnist", data_dir=str(root)))
  train, test = ds.split("train"), ds.split("test")
  assert train["inputs"].shape == (60000, 28, 28, 1) and test["inputs"].shape == (10000, 28, 28, 1)
  assert train["inputs"].dtype == np.uint8 and train["label"].dtype == np.int32
  hist = np.bincount(train["label"], minlength=10)
  assert hist.sum() == 60000 and hist.min() > 5000 and len(hist) == 10
  assert np.bincount(test["label"], minlength=10).sum() == 10000
  assert train["inputs"].max() == 255 and test["inputs"].max() == 255
  assert ds.info.mean[0] == pytest.approx(0.1307 * 255, abs=0.05)
  assert ds.info.std[0] == pytest.approx(0.3081 * 255, abs=0.05)


# ---------------------------------------------------------------- other datasets

def test_sum4_matches_legacy_global_stream():
  state = np.random.get_state()
  try:
    np.random.seed(42)
    x_train = np.random.randn(1000, 4)
    y_train = (x_train.sum(axis=1) > 0)
    x_test = np.random.randn(10, 4)
    y_test = (x_test.sum(1) > 0)
  finally:
    np.random.set_state(state)
  before = np.random.get_state()[1].copy()
  (a, b), (c, d) = sum4_arrays(42)
  np.testing.assert_array_equal(np.random.get_state()[1], before)  # global RNG untouched
  np.testing.assert_array_equal(a, x_train)
  np.testing.assert_array_equal(c, x_test)
  ds = load_dataset(cfg(name="sum4"))
  np.testing.assert_array_equal(ds.split("train")["inputs"], x_train.astype(np.float32))
  np.testing.assert_array_equal(ds.split("train")["label"], y_train.astype(np.int32))
  np.testing.assert_array_equal(ds.split("test")["label"], y_test.astype(np.int32))
  assert ds.info.task == "binary" and ds.info.input_shape == (4,)


def test_xor():
  ds = load_dataset(cfg(name="xor", repeat=3))
  assert ds.num_examples("train") == 12 and ds.num_examples("test") == 4
  x, y = ds.split("test")["inputs"], ds.split("test")["label"]
  np.testing.assert_array_equal(y, np.logical_xor(x[:, 0], x[:, 1]).astype(np.int32))
  assert x.dtype == np.float32 and ds.info.num_classes == 2


def test_digits():
  ds = load_dataset(cfg(name="digits"))
  assert ds.num_examples("train") + ds.num_examples("test") == 1797
  assert ds.num_examples("test") == 360
  x = ds.split("train")["inputs"]
  assert x.dtype == np.uint8 and x.shape[1:] == (8, 8, 1) and x.max() == 255
  again = load_dataset(cfg(name="digits"))
  np.testing.assert_array_equal(again.split("test")["label"], ds.split("test")["label"])


def test_small_generated_sets():
  moons = load_dataset(cfg(name="two_moons", noise=0.1))
  assert (moons.num_examples("train"), moons.num_examples("test")) == (800, 200)
  reg = load_dataset(cfg(name="regression_outliers", num_train=200, num_test=100))
  assert reg.split("train")["label"].dtype == np.float32 and reg.info.task == "regression"
  resid = lambda s: np.abs(reg.split(s)["label"] - (3 * reg.split(s)["inputs"][:, 0] + 2))
  assert (resid("train") > 5).sum() == 20 and (resid("test") > 5).sum() == 0
  imb = load_dataset(cfg(name="imbalanced"))
  assert imb.info.task == "binary" and np.mean(imb.split("train")["label"] == 1) < 0.15
  multi = load_dataset(cfg(name="imbalanced", weights=[0.7, 0.2, 0.1]))
  assert multi.info.task == "multiclass" and multi.info.num_classes == 3
  assert set(DATASETS.names()) >= {"digits", "xor", "sum4", "two_moons", "regression_outliers",
                                   "imbalanced", "mnist", "tfds", "cifar10"}


def test_unknown_dataset_and_split():
  with pytest.raises(ConfigError, match="Unknown dataset"):
    load_dataset(cfg(name="mnsit"))
  ds = load_dataset(cfg(name="xor"))
  with pytest.raises(DataError, match="valid splits: test, train"):
    ds.split("validation")


@pytest.mark.parametrize("size,expected", [(100, 100), (0.25, 250), (0, 0)])
def test_validation_carve_out(size, expected):
  ds = load_dataset(cfg(name="sum4", validation_size=size, seed=3))
  full = load_dataset(cfg(name="sum4", seed=3))
  assert ds.num_examples("train") == 1000 - expected
  if expected == 0:
    assert "validation" not in ds.splits
    return
  val, train = ds.split("validation")["inputs"], ds.split("train")["inputs"]
  assert val.shape[0] == expected
  rows = lambda a: {r.tobytes() for r in a}
  assert not rows(val) & rows(train)
  assert rows(val) | rows(train) == rows(full.split("train")["inputs"])
  again = load_dataset(cfg(name="sum4", validation_size=size, seed=3))
  np.testing.assert_array_equal(again.split("validation")["inputs"], val)
  other = carve_validation(full, size, seed=4)
  assert not np.array_equal(other.split("validation")["inputs"], val)
  assert ds.info.mean == pytest.approx(tuple(train.astype(np.float64).mean(0)))


def test_validation_size_errors():
  with pytest.raises(ConfigError):
    load_dataset(cfg(name="xor", validation_size=4))
  with pytest.raises(ConfigError):
    load_dataset(cfg(name="xor", validation_size=1.5))


# ---------------------------------------------------------------- TrainLoader

def _arrays(n):
  return {"inputs": np.arange(n * 3, dtype=np.float32).reshape(n, 3),
          "label": np.arange(n, dtype=np.int32)}


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), data=st.data())
def test_train_loader_epochs_are_permutations(n, data):
  b = data.draw(st.integers(1, n))
  loader = TrainLoader(_arrays(n), b, seed=data.draw(st.integers(0, 5)))
  assert loader.steps_per_epoch == n // b
  for _ in range(3):
    labels = np.concatenate([next(loader)["label"] for _ in range(loader.steps_per_epoch)])
    assert labels.size == n // b * b and np.unique(labels).size == labels.size


def test_train_loader_batches_and_seeds():
  loader = TrainLoader(_arrays(50), 8, seed=0)
  batch = next(loader)
  assert set(batch) == {"inputs", "label", "mask"} and batch["mask"].dtype == np.float32
  np.testing.assert_array_equal(batch["inputs"][:, 0], batch["label"] * 3.0)
  perm = np.random.default_rng([0, 0]).permutation(50)
  np.testing.assert_array_equal(batch["label"], perm[:8])
  seq = lambda seed: np.concatenate([next(TrainLoader(_arrays(50), 8, seed))["label"]])
  assert not np.array_equal(seq(0), seq(1))
  plain = TrainLoader(_arrays(10), 4, seed=0, shuffle=False)
  np.testing.assert_array_equal(next(plain)["label"], [0, 1, 2, 3])
  with pytest.raises(DataError, match="larger than"):
    TrainLoader(_arrays(5), 6, seed=0)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_train_loader_resume(n, data):
  b = data.draw(st.integers(1, n))
  stop = data.draw(st.integers(0, 3 * (n // b) + 2))
  seed = data.draw(st.integers(0, 100))
  loader = TrainLoader(_arrays(n), b, seed)
  for _ in range(stop):
    next(loader)
  state = json.loads(json.dumps(loader.get_state()))
  expected = [next(loader)["label"] for _ in range(5)]
  fresh = TrainLoader(_arrays(n), b, seed=seed + 1)
  fresh.set_state(state)
  for want in expected:
    np.testing.assert_array_equal(next(fresh)["label"], want)


# ---------------------------------------------------------------- eval batches

@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 50), b=st.integers(1, 17))
def test_eval_batches(n, b):
  batches = list(eval_batches(_arrays(n), b))
  assert len(batches) == num_eval_batches(n, b)
  labels, seen = [], 0
  for batch in batches:
    assert batch["inputs"].shape == (b, 3) and batch["mask"].shape == (b,)
    real = batch["mask"] == 1.0
    assert np.all(batch["inputs"][~real] == 0) and np.all(batch["label"][~real] == 0)
    assert np.all(real[:real.sum()])  # padding only at the end
    labels.append(batch["label"][real])
    seen += batch["mask"].sum()
  assert seen == n
  if n:
    np.testing.assert_array_equal(np.concatenate(labels), np.arange(n))


# ---------------------------------------------------------------- Prefetcher

def test_prefetcher_same_sequence_and_resume():
  put = jax.device_put
  loader = TrainLoader(_arrays(30), 4, seed=7)
  ref_loader = TrainLoader(_arrays(30), 4, seed=7)
  reference = [next(ref_loader)["label"] for _ in range(20)]
  with Prefetcher(loader, put, size=3) as pf:
    assert pf.get_state() == {"epoch": 0, "batch_in_epoch": 0, "seed": 7}
    got = [np.asarray(next(pf)["label"]) for _ in range(11)]
    time.sleep(0.05)  # let the producer run ahead
    state = pf.get_state()
  for a, b in zip(got, reference):
    np.testing.assert_array_equal(a, b)
  resumed = TrainLoader(_arrays(30), 4, seed=0)
  resumed.set_state(state)
  for want in reference[11:]:
    np.testing.assert_array_equal(next(resumed)["label"], want)


class _Failing:
  def __init__(self, k):
    self.k, self.i = k, 0

  def __iter__(self):
    return self

  def __next__(self):
    if self.i == self.k:
      raise RuntimeError("boom in producer")
    self.i += 1
    return {"x": np.array([self.i])}

  def get_state(self):
    return {"i": self.i}


def test_prefetcher_propagates_errors_and_closes():
  pf = Prefetcher(_Failing(3), lambda b: b)
  assert [int(next(pf)["x"][0]) for _ in range(3)] == [1, 2, 3]
  assert pf.get_state() == {"i": 3}
  with pytest.raises(RuntimeError, match="boom in producer"):
    next(pf)
  pf.close()
  finite = Prefetcher(iter([{"x": 1}, {"x": 2}]), lambda b: b)
  assert [b["x"] for b in finite] == [1, 2]
  endless = Prefetcher(TrainLoader(_arrays(10), 2, 0), lambda b: b, size=2)
  next(endless)
  t0 = time.perf_counter()
  endless.close()
  assert time.perf_counter() - t0 < 1.0
  assert not endless._thread.is_alive() and endless._thread.daemon
  assert not any(t.name == "dlcore-prefetch" and t.is_alive() for t in threading.enumerate())


# ---------------------------------------------------------------- preprocessing

def _image_info(mean=(), std=()):
  return DatasetInfo("img", "multiclass", 10, (4, 4, 3), "uint8", mean, std)


def test_preprocess_values():
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
  y = rng.integers(0, 10, 5).astype(np.int32)
  batch = {"inputs": x, "label": y, "mask": np.ones(5, np.float32)}
  unit = jax.jit(make_preprocess(cfg(normalize="unit", flatten=True, one_hot=True), _image_info()))
  out = unit(batch)
  assert out["inputs"].dtype == np.float32 and out["inputs"].shape == (5, 48)
  np.testing.assert_allclose(out["inputs"], x.reshape(5, -1) / 255.0, rtol=1e-6)
  np.testing.assert_array_equal(out["label"], np.eye(10, dtype=np.float32)[y])
  np.testing.assert_array_equal(out["mask"], batch["mask"])
  mean, std = (10.0, 100.0, 200.0), (2.0, 50.0, 0.0)
  stdz = jax.jit(make_preprocess(cfg(normalize="standardize"), _image_info(mean, std)))(batch)
  want = ((x.astype(np.float32) - np.array(mean, np.float32))
          / np.array([2.0, 50.0, 1.0], np.float32))
  np.testing.assert_allclose(stdz["inputs"], want, rtol=1e-5)
  np.testing.assert_array_equal(stdz["label"], y)
  none = make_preprocess(cfg(normalize="none"), _image_info())(batch)
  np.testing.assert_array_equal(none["inputs"], x.astype(np.float32))
  default = make_preprocess(cfg(), _image_info())(batch)
  np.testing.assert_allclose(default["inputs"], x / 255.0, rtol=1e-6)
  feats = DatasetInfo("f", "binary", 2, (4,), "float32")
  fb = {"inputs": rng.standard_normal((3, 4)).astype(np.float32), "label": np.array([0, 1, 1])}
  np.testing.assert_array_equal(make_preprocess(cfg(), feats)(fb)["inputs"], fb["inputs"])


def test_preprocess_errors():
  with pytest.raises(ConfigError, match="normalize"):
    make_preprocess(cfg(normalize="zscore"), _image_info())
  with pytest.raises(ConfigError, match="mean/std"):
    make_preprocess(cfg(normalize="standardize"), _image_info())
  reg = DatasetInfo("r", "regression", 0, (1,), "float32")
  with pytest.raises(ConfigError, match="one_hot"):
    make_preprocess(cfg(one_hot=True), reg)


# ---------------------------------------------------------------- TFDS (missing data only)

@pytest.mark.parametrize("name,extra", [("cifar10", {}), ("tfds", {"tfds_name": "cifar10"})])
def test_tfds_missing_dataset_fails_fast(tmp_path, name, extra):
  t0 = time.perf_counter()
  with pytest.raises(DataError, match="download=True") as e:
    load_dataset(cfg(name=name, data_dir=str(tmp_path), **extra))
  assert time.perf_counter() - t0 < 10.0
  _assert_names(e, tmp_path / "cifar10")
