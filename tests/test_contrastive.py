"""Contrastive learning: CLIP's loss against a NumPy loop, the resized crop against its
formula, caption building, and a tiny CLIP run on MNIST reaching a zero-shot accuracy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.data.augment import random_resized_crop
from dlcore.errors import ConfigError
from dlcore.losses import clip_loss


def np_clip_loss(x, y, scale):
  logits = scale * x @ y.T
  out = []
  for k in range(len(x)):
    row = logits[k] - logits[k].max()
    col = logits[:, k] - logits[:, k].max()
    i2t = -(row[k] - np.log(np.exp(row).sum()))
    t2i = -(col[k] - np.log(np.exp(col).sum()))
    out.append(0.5 * (i2t + t2i))
  return np.array(out)


def test_clip_loss_matches_numpy_and_masks_pairs():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
  x /= np.linalg.norm(x, axis=1, keepdims=True)
  y /= np.linalg.norm(y, axis=1, keepdims=True)
  np.testing.assert_allclose(clip_loss(jnp.asarray(x), jnp.asarray(y), 3.0),
                             np_clip_loss(x, y, 3.0), rtol=1e-5)
  mask = np.array([1, 1, 1, 1, 0, 0], np.float32)
  got = np.asarray(clip_loss(jnp.asarray(x), jnp.asarray(y), 3.0, mask=jnp.asarray(mask)))
  np.testing.assert_allclose(got[:4], np_clip_loss(x[:4], y[:4], 3.0), rtol=1e-5)
  np.testing.assert_allclose(got[4:], 0.0)


def test_random_resized_crop_is_identity_at_full_size_and_zooms_a_ramp():
  """out(y, x) = in(f y + oy + (f - 1)/2, ...) (pixel centres): a ramp stays a ramp of slope f."""
  h = 16
  ramp = jnp.broadcast_to(jnp.arange(h, dtype=jnp.float32)[None, :, None], (32, h, h))
  key = jax.random.key(0)
  np.testing.assert_allclose(random_resized_crop(key, ramp, 1.0), ramp, atol=1e-5)
  out = np.asarray(random_resized_crop(key, ramp, 0.5))
  slopes = np.diff(out[:, 2:-2, h // 2], axis=1)  # interior rows: no edge clamping
  assert ((slopes > 0.5 - 1e-4) & (slopes < 1.0 + 1e-4)).all()
  np.testing.assert_allclose(slopes, slopes[:, :1].repeat(slopes.shape[1], 1), atol=1e-4)
  assert slopes[:, 0].std() > 0.01  # the zoom is drawn per example
  with pytest.raises(ConfigError, match="min_side"):
    random_resized_crop(key, ramp, 0.0)


def test_captions_vocabulary_unknown_words_and_length():
  from experiments.contrastive import DIGITS, caption_tokens, caption_vocabulary
  vocab = caption_vocabulary(("a handwritten {}", "the number {}"), DIGITS)
  tokens = caption_tokens("a handwritten {}", DIGITS, vocab, 4)
  assert tokens.shape == (10, 4)
  assert list(tokens[7]) == [vocab["a"], vocab["handwritten"], vocab["seven"], 0]
  unseen = caption_tokens("a picture of {}", DIGITS, vocab, 4)
  assert unseen[3, 1] == unseen[3, 2] == vocab["<unk>"] and unseen[3, 3] == vocab["three"]
  with pytest.raises(ConfigError, match="captions.length"):
    caption_tokens("a very long caption of the digit {}", DIGITS, vocab, 4)


def tiny(method, data_dir):
  from configs.defaults import contrastive
  c = contrastive.get_config(method)
  c.data.update(data_dir=str(data_dir), num_train=2048)
  c.model.features = (8, 16)
  c.embedding_dim = 16
  c.train.update(batch_size=64, num_epochs=0, num_steps=60, progress=False, log_every=30)
  c.mesh.num_devices = 1
  return c


def test_clip_learns_zero_shot_digits(data_dir, tmp_path):
  from dlcore.train import loop
  from experiments import make_task
  c = tiny("clip", data_dir)
  c.model.update(image_hidden=32, text_features=16)
  c.train.num_steps = 200
  c.optimizer.learning_rate = 3e-3
  del c.evals["zero_shot_unseen"]
  _, result = loop.run(make_task(c), tmp_path)
  assert result["test"]["zero_shot_accuracy"] > 0.6  # chance is 0.1


def test_simclr_loss_falls_probe_runs_and_method_is_checked(data_dir, tmp_path):
  from dlcore.train import loop
  from dlcore.train.metric_logger import read_metrics
  from experiments import make_task
  c = tiny("simclr", data_dir)
  c.model.update(representation=16, projection_hidden=16)
  c.train.update(num_steps=40, log_every=10)
  c.optimizer.learning_rate = 3e-3
  c.probe.num_train = 500
  _, result = loop.run(make_task(c), tmp_path)
  losses = [e["loss"] for e in read_metrics(tmp_path / "metrics.jsonl") if e["split"] == "train"]
  assert losses[-1] < losses[0] - 0.3  # NT-Xent of two views falls from ~log(2N - 1)
  assert 0.5 < result["test"]["probe_accuracy"] <= 1.0
  c.method = "byol"
  with pytest.raises(ConfigError, match="method='byol'; valid: simclr, clip"):
    make_task(c)
