"""dlcore.nn.dropout: Dropout (LAY-14, inverted and vanilla) and SpatialDropout (LAY-15).

Statistical checks use fixed seeds and tolerances of 5 binomial standard deviations.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.nn.dropout import Dropout, SpatialDropout, dropout

N = 200_000


def _apply(model, x, train, seed=0):
  return np.asarray(model.apply({}, jnp.asarray(x), train=train,
                                rngs={"dropout": jax.random.key(seed)}))


@settings(max_examples=15, deadline=None)
@given(st.floats(0.05, 0.95), st.integers(0, 2**31 - 1))
def test_inverted_dropout_keeps_1_minus_p_and_preserves_the_mean(p, seed):
  x = np.random.default_rng(seed).uniform(0.5, 2.0, N).astype(np.float32)
  y = _apply(Dropout(p), x, train=True, seed=seed)
  kept = y != 0
  # fraction kept ~ Binomial(N, 1 - p) / N
  assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / N)
  # survivors are x / (1 - p) exactly (up to float32 rounding)
  np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)
  # E[y_i] = x_i: y_i - x_i has mean 0 and variance x_i^2 p / (1 - p)
  sd = math.sqrt((x.astype(np.float64)**2).mean() * p / (1 - p) / N)
  assert abs((y - x).astype(np.float64).mean()) < 5 * sd


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_inverted_dropout_is_identity_at_eval(p):
  x = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
  np.testing.assert_array_equal(_apply(Dropout(p), x, train=False), x)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_vanilla_dropout_is_unscaled_in_training_and_scales_by_keep_prob_at_eval(p):
  x = np.random.default_rng(1).uniform(0.5, 2.0, N).astype(np.float32)
  model = Dropout(p, mode="vanilla")
  y = _apply(model, x, train=True)
  kept = y != 0
  np.testing.assert_array_equal(y[kept], x[kept])  # no scaling in training
  assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / N)
  np.testing.assert_allclose(_apply(model, x, train=False), (1 - p) * x, rtol=1e-6)
  # train and eval agree in expectation: E[r x] = (1 - p) x
  sd = math.sqrt((x.astype(np.float64)**2).mean() * p * (1 - p) / N)
  assert abs((y - (1 - p) * x).astype(np.float64).mean()) < 5 * sd


def test_dropout_edge_rates_and_determinism():
  x = np.ones((4, 5), np.float32)
  np.testing.assert_array_equal(_apply(Dropout(0.0), x, train=True), x)
  np.testing.assert_array_equal(_apply(Dropout(1.0), x, train=True), 0 * x)
  np.testing.assert_array_equal(_apply(Dropout(1.0, mode="vanilla"), x, train=False), 0 * x)
  a = _apply(Dropout(0.5), np.ones(1000), train=True, seed=3)
  b = _apply(Dropout(0.5), np.ones(1000), train=True, seed=3)
  c = _apply(Dropout(0.5), np.ones(1000), train=True, seed=4)
  np.testing.assert_array_equal(a, b)
  assert (a != c).any()


def test_dropout_matches_the_004_keep_prob_code():
  """004 §3.3.2: D = rand < keep_prob; A = A * D / keep_prob, with our Bernoulli mask."""
  keep_prob, key = 0.5, jax.random.key(7)
  a = np.random.default_rng(2).normal(size=(6, 10)).astype(np.float32)
  d = np.asarray(jax.random.bernoulli(key, keep_prob, a.shape))
  got = np.asarray(dropout(jnp.asarray(a), 1 - keep_prob, key, train=True))
  np.testing.assert_allclose(got, a * d / keep_prob, rtol=1e-6)


def test_dropout_rejects_bad_rate_and_mode():
  with pytest.raises(ConfigError, match="rate"):
    Dropout(1.5).apply({}, jnp.ones(3), train=False)
  with pytest.raises(ConfigError, match="inverted"):
    Dropout(0.5, mode="classic").apply({}, jnp.ones(3), train=False)


def test_spatial_dropout_zeros_whole_channels_with_inverted_scaling():
  p = 0.4
  x = np.random.default_rng(3).uniform(0.5, 2.0, (64, 5, 6, 32)).astype(np.float32)
  y = _apply(SpatialDropout(p), x, train=True, seed=11)
  kept = y != 0
  per_map = kept.reshape(64, 30, 32)
  # each (example, channel) map is all kept or all dropped
  assert (per_map.all(axis=1) | ~per_map.any(axis=1)).all()
  frac = per_map[:, 0, :].mean()
  n_maps = 64 * 32
  assert abs(frac - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n_maps)
  np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)
  # masks differ across examples (not one mask per channel for the whole batch)
  assert (per_map[0, 0] != per_map[1, 0]).any()
  np.testing.assert_array_equal(_apply(SpatialDropout(p), x, train=False), x)


def test_spatial_dropout_needs_a_spatial_axis():
  with pytest.raises(ValueError, match="spatial"):
    SpatialDropout(0.5).apply({}, jnp.ones((4, 3)), train=True,
                              rngs={"dropout": jax.random.key(0)})
