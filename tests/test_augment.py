"""Tests for dlcore.data.augment (REG-6) and its use in make_preprocess, against NumPy references:
every crop is a window of the NumPy-padded image, shifts are NumPy zero-fill translations, flips
are x[:, :, ::-1]."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from dlcore.data.augment import make_augment, random_crop, random_flip, random_shift
from dlcore.data.base import DatasetInfo
from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError

KEY = jax.random.key(0)


def _images(shape, dtype=np.uint8, seed=0):
  """Random images with (almost surely) distinct windows, so each crop has one offset."""
  rng = np.random.default_rng(seed)
  if dtype == np.uint8:
    return rng.integers(0, 256, shape, dtype=np.uint8)
  return rng.standard_normal(shape).astype(dtype)


def _np_pad(x, p, mode="constant"):
  return np.pad(x, [(0, 0), (p, p), (p, p)] + [(0, 0)] * (x.ndim - 3), mode=mode)


def _window_offsets(out, x, p, mode="constant"):
  """For each example, all (oy, ox) in [0, 2p]^2 with out[b] == padded[b, oy:oy+H, ox:ox+W]."""
  padded = _np_pad(x, p, mode)
  h, w = x.shape[1:3]
  return [[(oy, ox) for oy, ox in itertools.product(range(2 * p + 1), repeat=2)
           if np.array_equal(out[b], padded[b, oy:oy + h, ox:ox + w])]
          for b in range(x.shape[0])]


def _np_shift(x, dy, dx):
  """y[i, j] = x[i - dy, j - dx], zero outside (hand-written loop reference)."""
  y = np.zeros_like(x)
  h, w = x.shape[:2]
  for i in range(h):
    for j in range(w):
      if 0 <= i - dy < h and 0 <= j - dx < w:
        y[i, j] = x[i - dy, j - dx]
  return y


# ---------------------------------------------------------------- random_crop

@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 4), h=st.integers(1, 7), w=st.integers(1, 7),
       c=st.sampled_from([None, 1, 3]), p=st.integers(0, 3),
       dtype=st.sampled_from([np.uint8, np.float32]), mode=st.sampled_from(["constant", "edge"]),
       seed=st.integers(0, 2**31 - 1))
def test_crop_is_window_of_padded(b, h, w, c, p, dtype, mode, seed):
  shape = (b, h, w) if c is None else (b, h, w, c)
  x = _images(shape, dtype, seed)
  out = np.asarray(random_crop(jax.random.key(seed), jnp.asarray(x), p, mode))
  assert out.shape == x.shape and out.dtype == x.dtype
  assert all(_window_offsets(out, x, p, mode)), "some example is not a window of the padded image"


def test_crop_offsets_uniform_including_endpoints():
  p, n = 2, 1000
  x = _images((n, 6, 6, 1))
  out = np.asarray(jax.jit(random_crop, static_argnums=2)(KEY, x, p))
  found = _window_offsets(out, x, p)
  assert all(len(f) == 1 for f in found)  # random content: each offset is unique
  counts = np.zeros((2 * p + 1, 2 * p + 1))
  for [(oy, ox)] in found:
    counts[oy, ox] += 1
  # Binomial(1000, 1/25) per cell: mean 40, sd 6.2, so 5 sd is (9, 71); an off-by-one range
  # (offsets in [0, 2p - 1] or [1, 2p]) leaves a whole row or column of cells at 0
  assert counts.min() > 9 and counts.max() < 71, counts


def test_crop_cifar_recipe_and_reflect():
  x = _images((8, 32, 32, 3))
  out = np.asarray(random_crop(KEY, x, 4))
  assert out.shape == (8, 32, 32, 3) and out.dtype == np.uint8
  assert all(_window_offsets(out, x, 4))
  refl = np.asarray(random_crop(KEY, x, 4, pad_mode="reflect"))
  assert all(_window_offsets(refl, x, 4, "reflect"))
  np.testing.assert_array_equal(random_crop(KEY, x, 0), x)
  with pytest.raises(ConfigError, match="pad_mode"):
    random_crop(KEY, x, 1, pad_mode="mirror")
  with pytest.raises(ConfigError, match="image batch"):
    random_crop(KEY, x.reshape(8, -1), 1)


def test_crop_reproducible_and_key_dependent():
  x = _images((16, 8, 8))
  a = np.asarray(random_crop(jax.random.key(1), x, 3))
  np.testing.assert_array_equal(a, random_crop(jax.random.key(1), x, 3))
  np.testing.assert_array_equal(a, jax.jit(random_crop, static_argnums=2)(jax.random.key(1), x, 3))
  assert not np.array_equal(a, random_crop(jax.random.key(2), x, 3))
  raw = np.asarray(random_crop(jax.random.PRNGKey(1), x, 3))  # legacy uint32 keys work too
  assert all(_window_offsets(raw, x, 3))


# ---------------------------------------------------------------- random_shift

def test_shift_matches_numpy_translation():
  m, n = 2, 300
  x = _images((n, 5, 6, 2))
  out = np.asarray(random_shift(KEY, x, m))
  seen = set()
  for b in range(n):
    hits = [(dy, dx) for dy, dx in itertools.product(range(-m, m + 1), repeat=2)
            if np.array_equal(out[b], _np_shift(x[b], dy, dx))]
    assert len(hits) == 1, (b, hits)
    seen.add(hits[0])
  assert seen == set(itertools.product(range(-m, m + 1), repeat=2))  # all 25 shifts occur


def test_shift_zero_is_identity_and_keeps_dtype():
  for x in (_images((4, 7, 7)), _images((4, 7, 7, 3), np.float32)):
    out = random_shift(KEY, jnp.asarray(x), 0)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, x)


# ---------------------------------------------------------------- random_flip

def test_flip_matches_numpy_and_is_involution():
  x = _images((400, 4, 5, 3))
  out = np.asarray(random_flip(KEY, x))
  flipped = np.array([np.array_equal(out[b], x[b, :, ::-1]) for b in range(400)])
  kept = np.array([np.array_equal(out[b], x[b]) for b in range(400)])
  assert np.all(flipped ^ kept)  # every example is exactly one of the two
  assert 140 < flipped.sum() < 260  # Binomial(400, 0.5): mean 200, sd 10
  np.testing.assert_array_equal(random_flip(KEY, out), x)
  gray = _images((6, 3, 4))
  np.testing.assert_array_equal(random_flip(KEY, gray, prob=1.0), gray[:, :, ::-1])
  np.testing.assert_array_equal(random_flip(KEY, gray, prob=0.0), gray)
  with pytest.raises(ConfigError, match="prob"):
    random_flip(KEY, gray, prob=1.5)


def test_vmap_over_keys():
  x = _images((4, 6, 6, 1))
  keys = jax.random.split(KEY, 3)
  outs = jax.vmap(lambda k: random_crop(k, x, 2))(keys)
  for i in range(3):
    np.testing.assert_array_equal(outs[i], random_crop(keys[i], x, 2))


# ---------------------------------------------------------------- make_augment

def test_make_augment_config():
  assert make_augment(None) is None and make_augment({}) is None
  assert make_augment(ml_collections.ConfigDict(
      {"random_crop_padding": 0, "horizontal_flip": False, "max_shift": 0})) is None
  with pytest.raises(ConfigError, match="'rotate'.*random_crop_padding, horizontal_flip"):
    make_augment({"rotate": 10})
  with pytest.raises(ConfigError, match="random_crop_padding"):
    make_augment({"random_crop_padding": -1})
  with pytest.raises(ConfigError, match="horizontal_flip"):
    make_augment({"horizontal_flip": 1})


def test_make_augment_composition_and_streams():
  x = _images((64, 8, 8, 3))
  crop_only = make_augment({"random_crop_padding": 2})
  both = make_augment(ml_collections.ConfigDict({"random_crop_padding": 2,
                                                 "horizontal_flip": True}))
  a, ab = np.asarray(crop_only(KEY, x)), np.asarray(both(KEY, x))
  np.testing.assert_array_equal(ab, both(KEY, x))
  assert not np.array_equal(ab, both(jax.random.key(7), x))
  # the crop stream does not depend on whether flip is on: ab is a or a flipped, per example
  for b in range(64):
    assert np.array_equal(ab[b], a[b]) or np.array_equal(ab[b], a[b, :, ::-1])
  assert not np.array_equal(ab, a)
  assert all(_window_offsets(a, x, 2))


def test_sharded_matches_unsharded():
  devices = np.array(jax.devices())
  assert devices.size == 8
  sharding = NamedSharding(Mesh(devices, ("data",)), P("data"))
  augment = make_augment({"random_crop_padding": 4, "horizontal_flip": True, "max_shift": 1})
  x = _images((32, 12, 12, 3))
  key = jax.random.key(3)
  want = np.asarray(jax.jit(augment)(key, x))
  got = jax.jit(augment, out_shardings=sharding)(key, jax.device_put(x, sharding))
  assert got.sharding.is_equivalent_to(sharding, 4)
  np.testing.assert_array_equal(np.asarray(got), want)


# ---------------------------------------------------------------- make_preprocess

def _info(shape=(6, 6, 3)):
  return DatasetInfo("img", "multiclass", 10, shape, "uint8")


def _batch(n=16, shape=(6, 6, 3)):
  rng = np.random.default_rng(1)
  return {"inputs": rng.integers(0, 256, (n, *shape), dtype=np.uint8),
          "label": rng.integers(0, 10, n).astype(np.int32), "mask": np.ones(n, np.float32)}


def test_preprocess_augments_only_in_training():
  batch = _batch()
  plain = make_preprocess(ml_collections.ConfigDict({"flatten": True}), _info())
  aug_cfg = {"random_crop_padding": 1, "horizontal_flip": True}
  cfg = ml_collections.ConfigDict({"flatten": True, "augment": aug_cfg})
  pre = make_preprocess(cfg, _info())
  base = np.asarray(jax.jit(plain)(batch)["inputs"])
  np.testing.assert_allclose(base, batch["inputs"].reshape(16, -1) / 255.0, rtol=1e-6)
  rng = jax.random.key(5)
  for out in (pre(batch), pre(batch, rng), pre(batch, rng, train=False), pre(batch, train=True),
              plain(batch, rng, train=True),
              make_preprocess({"augment": {"max_shift": 0}, "flatten": True}, _info())(
                  batch, rng, True)):
    np.testing.assert_array_equal(out["inputs"], base)
  got = jax.jit(pre, static_argnums=2)(batch, rng, True)
  assert got["inputs"].dtype == np.float32 and got["inputs"].shape == (16, 108)
  aug = make_augment(aug_cfg)(rng, batch["inputs"])
  assert aug.dtype == np.uint8  # augmented before the cast
  want = np.asarray(aug, np.float32).reshape(16, -1) * np.float32(1 / 255)
  np.testing.assert_allclose(got["inputs"], want, rtol=1e-6)
  assert not np.array_equal(got["inputs"], base)
  np.testing.assert_array_equal(got["label"], batch["label"])


def test_preprocess_augment_errors():
  with pytest.raises(ConfigError, match="Unknown data.augment key 'crop'"):
    make_preprocess({"augment": {"crop": 4}}, _info())
  feats = DatasetInfo("f", "binary", 2, (4,), "float32")
  with pytest.raises(ConfigError, match="needs images"):
    make_preprocess({"augment": {"horizontal_flip": True}}, feats)
  make_preprocess({"augment": {"horizontal_flip": False}}, feats)  # all off: fine
