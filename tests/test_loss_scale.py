"""float16 training with dynamic loss scaling (`optimizer.loss_scale='dynamic'`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcore.errors import ConfigError
from dlcore.optim import build_optimizer, optimizer_config
from dlcore.optim.loss_scale import dynamic_loss_scale, loss_scale_of
from launch import run

from test_trainer import digits_config, events


def test_unscales_skips_overflow_and_grows():
  params = {"w": jnp.array([1.0, -2.0])}
  g = {"w": jnp.array([0.5, 0.25])}
  tx = dynamic_loss_scale(optax.sgd(0.1), initial=8.0, period=2)
  state = tx.init(params)
  updates, state = tx.update(jax.tree.map(lambda x: 8.0 * x, g), state, params)
  np.testing.assert_allclose(updates["w"], -0.1 * g["w"], rtol=1e-6)  # the unscaled SGD step
  assert float(state.loss_scale) == 8.0 and int(state.good_steps) == 1
  updates, state = tx.update({"w": jnp.array([jnp.inf, 1.0])}, state, params)
  np.testing.assert_array_equal(updates["w"], 0.0)  # overflow: skipped, S halves
  assert float(state.loss_scale) == 4.0 and int(state.good_steps) == 0
  for _ in range(2):
    _, state = tx.update(g, state, params)
  assert float(state.loss_scale) == 8.0 and int(state.good_steps) == 0  # 2 finite: S doubles
  assert loss_scale_of(state) is state.loss_scale and loss_scale_of(optax.sgd(1).init(params)) \
      is None


def test_bad_loss_scale_settings():
  with pytest.raises(ConfigError, match="loss_scale"):
    build_optimizer(optimizer_config("adam", 1e-3, loss_scale="static"), 10)
  with pytest.raises(ConfigError, match="loss_scale_init"):
    build_optimizer(optimizer_config("adam", 1e-3, loss_scale="dynamic", loss_scale_init=0.5),
                    10)


def _fp16_digits(tmp_path, name, **opt):
  c = digits_config(num_steps=80, log_every=20, checkpoint_every=80)
  c.mesh.num_devices = 1
  c.model.dtype = "float16"
  c.optimizer.update(loss_scale="dynamic", **opt)
  result = run.train(c, tmp_path / name)
  return result, events(tmp_path / name, "train")


def test_float16_trains_like_float32_and_survives_overflow(tmp_path):
  """A float16 MLP with a dynamic loss scale reaches the float32 run's test accuracy (within 3
  points after 80 steps). Started at S = 2^40, every early gradient overflows float16: those
  steps are skipped and S halves until it fits, and the run still learns instead of stopping
  with a NaN/Inf error."""
  c = digits_config(num_steps=80, log_every=20, checkpoint_every=80)
  c.mesh.num_devices = 1
  f32 = run.train(c, tmp_path / "f32")["test"]["accuracy"]
  f16, train = _fp16_digits(tmp_path, "f16")
  assert f16["test"]["accuracy"] >= f32 - 0.03, (f16["test"]["accuracy"], f32)
  assert all(e["loss_scale"] == 2.0 ** 15 for e in train)  # no overflow at the default scale
  big, train = _fp16_digits(tmp_path, "big", loss_scale_init=2.0 ** 40)
  assert train[0]["loss_scale"] < 2.0 ** 40 and train[-1]["loss_scale"] <= 2.0 ** 24
  assert big["status"] == "finished" and big["test"]["accuracy"] > 0.8
