"""eval.inspect (project 11.3 error analysis) and auxiliary-head losses in the trainer."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from dlcore.errors import ConfigError
from dlcore.losses import build_loss
from dlcore.models import MODELS
from experiments import classification
from launch import run
from launch.cli import load_config_file

from conftest import REPO

PNG = b"\x89PNG\r\n\x1a\n"


def digits_cnn_config(**eval_keys):
  c = load_config_file(str(REPO / "configs" / "digits_mlp.py"))
  c.data.flatten = False
  c.model = ml_collections.ConfigDict(dict(name="simple_cnn", features=(8, 16)))
  c.train.update(num_steps=60, log_every=30, progress=False)
  c.eval.update(eval_keys)
  return c


def test_inspect_writes_every_picture_for_a_cnn_and_skips_convs_for_an_mlp(tmp_path):
  c = digits_cnn_config(inspect=("confusion_matrix", "error_gallery", "feature_maps",
                                 "grad_cam"), inspect_images=6, reports=())
  result = run.train(c, tmp_path / "cnn")
  files = [f for paths in result["inspect"].values() for f in paths]
  names = sorted(p.split("/inspect/")[1] for p in files)
  assert names == ["confusion_matrix.png", "error_gallery.png", "feature_maps/00_conv_0.png",
                   "feature_maps/01_conv_1.png", "grad_cam.png"]
  for f in files:
    assert open(f, "rb").read(8) == PNG
  m = load_config_file(str(REPO / "configs" / "digits_mlp.py"))
  m.train.update(num_steps=20, log_every=10, progress=False)
  m.eval.update(inspect=("confusion_matrix", "grad_cam"), reports=())
  out = run.train(m, tmp_path / "mlp")["inspect"]
  assert out["grad_cam"].startswith("skipped: MLP has no convolution")
  assert (tmp_path / "mlp" / "inspect" / "confusion_matrix.png").exists()


def test_unknown_inspection_fails_before_training(tmp_path):
  c = digits_cnn_config(inspect=("grad_cams",))
  with pytest.raises(ConfigError, match="grad_cams.*did you mean 'grad_cam'"):
    run.train(c, tmp_path)
  assert not (tmp_path / "checkpoints").exists()


class _AuxNet(nn.Module):
  """A linear classifier with one auxiliary head sown as GoogLeNet does (LAY-20)."""
  num_outputs: int

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = x.reshape(x.shape[0], -1)
    if train or self.is_initializing():
      self.sow("aux_outputs", "aux1", nn.Dense(self.num_outputs, name="aux")(x))
    return nn.Dense(self.num_outputs, name="main")(x)


def test_aux_head_loss_is_added_with_its_weight_in_training_only():
  """L = L_main + w L_aux in training (w = loss.aux_weight); eval is L_main; the sown logits
  are not kept in the model state."""
  if "test_aux_net" not in MODELS.names():
    MODELS.add("test_aux_net", _AuxNet)
  c = digits_cnn_config()
  c.model = ml_collections.ConfigDict(dict(name="test_aux_net"))
  c.loss.aux_weight = 0.25
  s = classification.build(c)
  initial = jax.jit(s.init)(jax.random.PRNGKey(c.seed))
  assert "aux_outputs" not in initial.model_state
  x = s.data.dataset.split("train")
  batch = {"inputs": jnp.asarray(x["inputs"][:16]), "label": jnp.asarray(x["label"][:16]),
           "mask": jnp.ones((16,), jnp.float32)}
  params = initial.params
  train_loss, (state, _) = s.objective(params, initial.model_state, batch, initial.rng, True)
  eval_loss, _ = s.objective(params, initial.model_state, batch, initial.rng, False)
  assert "aux_outputs" not in state
  xs = np.asarray(batch["inputs"], np.float32).reshape(16, -1) / 255.0
  ce = build_loss(ml_collections.ConfigDict(dict(name="cross_entropy")))
  lin = lambda p: xs @ np.asarray(p["kernel"]) + np.asarray(p["bias"])
  main = float(np.mean(ce(jnp.asarray(lin(params["main"])), batch["label"])))
  aux = float(np.mean(ce(jnp.asarray(lin(params["aux"])), batch["label"])))
  np.testing.assert_allclose(float(eval_loss), main, rtol=1e-5)
  np.testing.assert_allclose(float(train_loss), main + 0.25 * aux, rtol=1e-5)
