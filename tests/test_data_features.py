"""Data by modality: declared features choose the preprocessing (token ids stay integers), any
named columns, and sources that regenerate their examples each epoch behind an exact state."""

from __future__ import annotations

import chex
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.data.base import make_columns_dataset
from dlcore.data.features import Feature, infer_features
from dlcore.data.loader import EpochSource, eval_batches
from dlcore.data.preprocess import make_preprocess
from dlcore.errors import DataError


def token_dataset():
  rng = np.random.default_rng(0)
  tokens = rng.integers(0, 50, (40, 7)).astype(np.int32)
  lengths = rng.integers(1, 8, (40,)).astype(np.int32)
  return make_columns_dataset("toy_text", "sequence", {
      "train": {"inputs": tokens, "lengths": lengths, "target": np.roll(tokens, -1, 1)},
      "test": {"inputs": tokens[:9], "lengths": lengths[:9], "target": tokens[:9]}})


def test_token_ids_stay_integers_and_other_columns_pass_unchanged():
  ds = token_dataset()
  assert {k: f.kind for k, f in ds.info.features.items()} == {
      "inputs": "tokens", "lengths": "lengths", "target": "target"}
  assert ds.num_examples("test") == 9  # counted without a 'label' column
  pre = make_preprocess({"normalize": "none"}, ds.info)
  batch = {k: jnp.asarray(v[:4]) for k, v in ds.split("train").items()}
  out = pre(batch)
  for k in batch:
    chex.assert_type(out[k], jnp.int32)
    np.testing.assert_array_equal(out[k], batch[k])


def test_images_and_dense_columns_are_still_transformed():
  images = np.full((6, 4, 4), 255, np.uint8)
  ds = make_columns_dataset("pix", "multiclass", {
      "train": {"inputs": images, "extra": np.ones((6, 2), np.float64),
                "label": np.arange(6, dtype=np.int32)}}, num_classes=6)
  assert ds.info.features["inputs"].kind == "image"
  out = make_preprocess({}, ds.info)({k: jnp.asarray(v) for k, v in ds.split("train").items()})
  chex.assert_type(out["inputs"], jnp.float32)
  np.testing.assert_allclose(out["inputs"], 1.0)  # uint8 scaled to [0, 1]
  chex.assert_type(out["extra"], jnp.float32)
  chex.assert_type(out["label"], jnp.int32)


def test_declared_features_win_and_bad_kinds_fail():
  split = {"inputs": np.zeros((3, 5), np.int32)}
  assert infer_features(split)["inputs"].kind == "tokens"
  declared = {"inputs": Feature("dense", "int32", (5,))}
  assert infer_features(split, declared)["inputs"].kind == "dense"
  with pytest.raises(DataError, match="not one of"):
    Feature("pixels", "uint8", (2, 2))
  with pytest.raises(DataError, match="different lengths"):
    make_columns_dataset("bad", "sequence", {"train": {"a": np.zeros(3), "b": np.zeros(4)}})


def test_eval_batches_pad_any_columns():
  ds = token_dataset()
  batches = list(eval_batches(ds.split("test"), 4))
  assert [b["mask"].sum() for b in batches] == [4, 4, 1]
  assert batches[-1]["inputs"].dtype == np.int32


def walks(rng, epoch):
  """A stand-in for random walks: new examples every epoch, from the epoch's generator."""
  return {"inputs": rng.integers(0, 100, (30, 3)).astype(np.int32),
          "epoch": np.full((30,), epoch, np.int32)}


def test_epoch_source_regenerates_and_resumes_exactly():
  source = EpochSource(walks, batch_size=8, seed=3)
  assert source.steps_per_epoch == 3
  run = [next(source) for _ in range(10)]
  assert [int(b["epoch"][0]) for b in run] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
  assert not np.array_equal(run[0]["inputs"], run[3]["inputs"])  # new examples each epoch
  again = EpochSource(walks, batch_size=8, seed=3)
  for _ in range(4):
    next(again)
  state = again.get_state()
  resumed = EpochSource(walks, batch_size=8, seed=3)
  resumed.set_state(state)
  for want in run[4:]:
    chex.assert_trees_all_equal(next(resumed), want)
