"""Learning-rate schedules (curriculum §6e SCH-1..5) vs their NumPy formulas at many steps."""

import math

import ml_collections
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.optim import SCHEDULES, build_schedule

LR, TOTAL = 0.1, 1000
STEP = st.integers(0, 3 * TOTAL)
FAST = settings(max_examples=40, deadline=None)


def sched(name, **kw):
  cfg = ml_collections.ConfigDict(dict(
      learning_rate=LR, schedule=ml_collections.ConfigDict(dict(name=name, **kw))))
  return build_schedule(cfg, TOTAL)


def close(got, want):
  np.testing.assert_allclose(float(got), want, rtol=1e-5, atol=1e-8)


@FAST
@given(STEP)
def test_constant(t):
  close(sched("constant")(t), LR)


@FAST
@given(STEP)
def test_step_decay(t):
  close(sched("step", decay_steps=300, decay_rate=0.5)(t), LR * 0.5 ** math.floor(t / 300))


@FAST
@given(STEP)
def test_exponential(t):
  close(sched("exponential", decay_steps=200, decay_rate=0.9)(t), LR * 0.9 ** (t / 200))


@FAST
@given(STEP)
def test_cosine(t):
  a = 0.1
  want = LR * ((1 - a) * 0.5 * (1 + math.cos(math.pi * min(t, TOTAL) / TOTAL)) + a)
  close(sched("cosine", alpha=a)(t), want)


@FAST
@given(STEP)
def test_warmup_cosine(t):
  w, a = 100, 0.05
  if t < w:
    want = LR * t / w
  else:
    frac = min(t - w, TOTAL - w) / (TOTAL - w)
    want = a * LR + (LR - a * LR) * 0.5 * (1 + math.cos(math.pi * frac))
  close(sched("warmup_cosine", warmup_steps=w, alpha=a)(t), want)


def np_triangular(t, base, top, s):
  cycle = math.floor(1 + t / (2 * s))
  x = abs(t / s - 2 * cycle + 1)
  return base + (top - base) * max(0.0, 1 - x)


@FAST
@given(STEP)
def test_cyclical(t):
  close(sched("cyclical", base_lr=0.01, step_size=150)(t), np_triangular(t, 0.01, LR, 150))


def test_cyclical_shape():
  f = sched("cyclical", base_lr=0.01, step_size=100)
  for t, want in [(0, 0.01), (50, 0.055), (100, LR), (150, 0.055), (200, 0.01), (300, LR)]:
    close(f(t), want)


def test_defaults_and_unknown_name():
  assert SCHEDULES.names() == sorted(
      ["constant", "cosine", "cyclical", "exponential", "step", "warmup_cosine"])
  cfg = ml_collections.ConfigDict(dict(learning_rate=LR))
  close(build_schedule(cfg, TOTAL)(500), LR)  # no schedule -> constant
  for name in SCHEDULES.names():  # every schedule builds from its defaults alone
    assert np.isfinite(float(sched(name)(7)))
  with pytest.raises(ConfigError, match="cosine"):
    sched("cosin")
