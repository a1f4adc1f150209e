"""Throughput of the training loop: examples/s, tokens/s, FLOP/s and MFU, and a profiler trace.

Logged with every training event of `metrics.jsonl` (and TensorBoard):

  examples_per_sec   rows of the global batch x steps/s
  tokens_per_sec     positions of the batch's token array x steps/s (text tasks: the first
                     integer array of rank >= 2 among 'targets', 'tgt_out', 'tokens', 'inputs';
                     padded positions count)
  tflops_per_sec     FLOPs of one step on all devices x steps/s / 1e12; the FLOPs come from
                     XLA's cost analysis of the compiled step (`jit(step).lower(...).compile()`,
                     cached: asking costs no second compilation), which counts one device's
                     share, times the number of devices
  mfu                tflops_per_sec / (peak x devices): `train.peak_tflops` per device, else
                     the dense bf16 peak of a known accelerator; not logged on a CPU without
                     `train.peak_tflops`

`train.profile_steps = N` (0: off) records a `jax.profiler` trace of N steps from step
`train.profile_start` (default: the second step of the launch, after compilation) into
`<workdir>/profile/` (open it with TensorBoard's profile plugin, XProf or Perfetto).
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
import numpy as np

from dlcore.config import cfg_get
from dlcore.errors import ConfigError

PEAK_TFLOPS = {"h100": 989.0, "h200": 989.0, "b200": 2250.0, "a100": 312.0, "l4": 121.0,
               "tpu v4": 275.0, "tpu v5 lite": 197.0, "tpu v5e": 197.0, "tpu v5p": 459.0,
               "tpu v6": 918.0}  # dense bf16 TFLOP/s per device
TOKEN_KEYS = ("targets", "tgt_out", "tokens", "inputs")
LOGGED = ("examples_per_sec", "tokens_per_sec", "tflops_per_sec", "mfu")


def peak_tflops(given: float = 0.0, device: Any = None) -> float | None:
  """`given` when > 0, else the dense bf16 peak of a known accelerator (None if unknown)."""
  if given > 0:
    return float(given)
  kind = (device or jax.devices()[0]).device_kind.lower()
  return next((v for k, v in PEAK_TFLOPS.items() if k in kind), None)


def compiled_flops(jitted, *args) -> float | None:
  """FLOPs of one call of `jitted(*args)` on one device, from XLA's cost analysis of the
  compiled program (None when the backend does not report them)."""
  try:
    cost = jitted.lower(*args).compile().cost_analysis()
  except Exception:  # noqa: BLE001 - an optional figure: some backends do not report it
    return None
  if isinstance(cost, (list, tuple)):  # older jax: one dict per program
    cost = cost[0] if cost else {}
  flops = float((cost or {}).get("flops", -1.0))
  return flops if flops > 0 else None


def batch_units(batch: Any) -> tuple[int, int]:
  """(rows, token positions) of one global batch (0 where it has none)."""
  leaves = jax.tree.leaves(batch)
  if not leaves:
    return 0, 0
  rows = int(np.shape(leaves[0])[0]) if np.ndim(leaves[0]) else 0
  tokens = 0
  if isinstance(batch, dict):
    for key in TOKEN_KEYS:
      x = batch.get(key)
      if x is not None and np.ndim(x) >= 2 and np.issubdtype(x.dtype, np.integer):
        tokens = int(np.prod(np.shape(x)))
        break
  return rows, tokens


class Throughput:
  """Turns steps/s into the logged rates; `measure` once with the first step's arguments."""

  def __init__(self, config, num_devices: int):
    t = config.train
    self.peak = peak_tflops(float(cfg_get(t, "peak_tflops", 0.0)))
    self.num_devices = num_devices
    self.rows = self.tokens = 0
    self.flops: float | None = None
    self.measured = False

  def measure(self, jitted, state, batch, *args, pmap: bool = False) -> None:
    """Rows, tokens and FLOPs of a step from its arguments (`pmap`: the batch is
    [devices, rows, ...])."""
    self.measured = True
    if batch is not None:
      self.rows, self.tokens = batch_units(batch)
      if pmap:
        self.rows *= int(np.shape(jax.tree.leaves(batch)[0])[1])
    self.flops = compiled_flops(jitted, state, batch, *args)

  def rates(self, steps_per_sec: float) -> dict[str, float]:
    out = {}
    if self.rows:
      out["examples_per_sec"] = self.rows * steps_per_sec
    if self.tokens:
      out["tokens_per_sec"] = self.tokens * steps_per_sec
    if self.flops:
      per_device = self.flops * steps_per_sec / 1e12
      out["tflops_per_sec"] = per_device * self.num_devices
      if self.peak:
        out["mfu"] = per_device / self.peak
    return out


class ProfileWindow:
  """Starts a `jax.profiler` trace at step `start` and stops it `steps` steps later."""

  def __init__(self, config, workdir: pathlib.Path, first_step: int, console):
    t = config.train
    self.steps = int(cfg_get(t, "profile_steps", 0))
    start = cfg_get(t, "profile_start", -1)
    if self.steps < 0 or isinstance(start, bool) or not isinstance(start, int):
      raise ConfigError(f"train.profile_steps must be an int >= 0 and train.profile_start an "
                        f"int step, got {self.steps!r} and {start!r}.")
    self.start = first_step + 1 if start < 0 else start
    self.directory = workdir / "profile"
    self.console = console
    self.active = False

  def before(self, step: int) -> None:
    """Called before the step that brings the state to `step` + 1."""
    if self.steps and not self.active and step == self.start:
      jax.profiler.start_trace(str(self.directory))
      self.active = True

  def after(self, step: int, state) -> None:
    if self.active and step >= self.start + self.steps:
      self.stop(state)

  def stop(self, state) -> None:
    if self.active:
      jax.block_until_ready(state)
      jax.profiler.stop_trace()
      self.active = False
      self.console.print(f"profiler trace of steps {self.start + 1}..{self.start + self.steps} "
                         f"written to {self.directory}")
