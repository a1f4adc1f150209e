"""Throughput logging (examples/s, tokens/s, FLOP/s, MFU) and the profiler-trace option."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.errors import ConfigError
from dlcore.train.throughput import ProfileWindow, batch_units, compiled_flops, peak_tflops
from launch import run

from test_trainer import digits_config, events


def test_compiled_flops_counts_a_matmul():
  """XLA's count for (m x k) @ (k x n) is the textbook 2 m k n (plus the m n of a sum)."""
  m, k, n = 64, 96, 32
  f = jax.jit(lambda a, b: (a @ b).sum())
  a, b = jnp.ones((m, k)), jnp.ones((k, n))
  flops = compiled_flops(f, a, b)
  assert flops == pytest.approx(2 * m * k * n, rel=0.01)


def test_batch_units_counts_rows_and_token_positions():
  batch = {"inputs": np.zeros((8, 16), np.int32), "weight": np.ones((8, 16), np.float32)}
  assert batch_units(batch) == (8, 128)
  assert batch_units({"image": np.zeros((4, 28, 28, 1), np.float32),
                      "label": np.zeros((4,), np.int32)}) == (4, 0)
  assert batch_units(None) == (0, 0)


def test_peak_from_config_or_table():
  assert peak_tflops(12.5) == 12.5
  assert peak_tflops(0.0) is None  # a CPU is not in the table


def test_loop_logs_throughput_and_writes_a_profile(tmp_path):
  """The train events carry examples/s = batch x steps/s, tokens are absent for images, FLOP/s
  from the compiled step (within 2x of the 6 x params x batch estimate of an MLP step) and MFU
  against the configured peak; a 2-step profiler trace lands in <workdir>/profile."""
  c = digits_config(num_steps=6, log_every=3, checkpoint_every=6, batch_size=32,
                    peak_tflops=0.5, profile_steps=2, profile_start=2)
  c.mesh.num_devices = 1
  run.train(c, tmp_path)
  train = events(tmp_path, "train")
  assert len(train) == 2
  sizes = [64, *c.model.features, 10]
  params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
  for e in train:
    assert e["examples_per_sec"] == pytest.approx(32 * e["steps_per_sec"], rel=1e-6)
    assert "tokens_per_sec" not in e
    flops_per_step = e["tflops_per_sec"] * 1e12 / e["steps_per_sec"]
    assert 0.5 * 6 * params * 32 < flops_per_step < 2 * 6 * params * 32
    assert e["mfu"] == pytest.approx(e["tflops_per_sec"] / 0.5, rel=1e-6)
  assert list((tmp_path / "profile").rglob("*.xplane.pb"))


def test_profile_settings_are_checked(tmp_path):
  c = digits_config(profile_steps=-1)
  with pytest.raises(ConfigError, match="profile_steps"):
    ProfileWindow(c, tmp_path, 0, None)
