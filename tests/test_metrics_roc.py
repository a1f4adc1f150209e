"""ROC curve and AUC (MET-6, MET-7): exact, tie-aware, mergeable; vs sklearn and a double loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score, roc_curve

from dlcore import metrics as M
from test_metrics_helpers import PAD, cuts_strategy, merged, padded_batches


def _pairwise_auc(s, y):
  """P(s+ > s-) + 1/2 P(s+ = s-) by a double loop over all (positive, negative) pairs."""
  pos, neg = s[y == 1], s[y == 0]
  total = 0.0
  for a in pos:
    for b in neg:
      total += 1.0 if a > b else 0.5 if a == b else 0.0
  return total / (len(pos) * len(neg))


def _data(seed, n, levels=5):
  """Scores with many ties (integers / levels) and labels with both classes present."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 2, n)
  y[:2] = [0, 1]
  return (rng.integers(0, levels + 1, n) / levels).astype(np.float32), y


def test_auc_matches_sklearn_with_ties():
  s, y = _data(0, 200)
  assert M.roc_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_curve_matches_sklearn_and_area_is_auc():
  s, y = _data(1, 100, levels=20)
  fpr, tpr, thr = M.roc_curve(s, y)
  f2, t2, th2 = roc_curve(y, s, drop_intermediate=False)
  np.testing.assert_allclose(fpr, f2)
  np.testing.assert_allclose(tpr, t2)
  np.testing.assert_allclose(thr[1:], th2[1:])
  assert np.trapezoid(tpr, fpr) == pytest.approx(M.roc_auc(s, y), abs=1e-12)


def test_auc_degenerate_cases():
  assert np.isnan(M.roc_auc([0.1, 0.2], [1, 1]))
  assert M.roc_auc([0.1, 0.9], [0, 1]) == 1.0
  assert M.roc_auc([0.9, 0.1], [0, 1]) == 0.0
  assert M.roc_auc([0.5, 0.5], [0, 1]) == 0.5


def test_weights_drop_rows():
  s, y = _data(2, 60)
  w = (np.arange(60) % 4 != 0).astype(float)
  assert M.roc_auc(s, y, w) == pytest.approx(M.roc_auc(s[w > 0], y[w > 0]), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 10_000), levels=st.integers(1, 8))
def test_auc_equals_pairwise_ranking_probability(n, seed, levels):
  s, y = _data(seed, n, levels)
  assert M.roc_auc(s, y) == pytest.approx(_pairwise_auc(s, y), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 10_000), a=st.floats(0.1, 5.0),
       b=st.floats(-3.0, 3.0), kind=st.sampled_from(["affine", "exp", "cube", "sigmoid"]))
def test_auc_invariant_to_strictly_monotone_transform(n, seed, a, b, kind):
  s, y = _data(seed, n, levels=6)
  s = s.astype(np.float64)
  f = {"affine": lambda x: a * x + b, "exp": lambda x: np.exp(a * x),
       "cube": lambda x: (x - 0.5)**3 * a, "sigmoid": lambda x: 1 / (1 + np.exp(-a * (x + b)))}
  assert M.roc_auc(f[kind](s), y) == pytest.approx(M.roc_auc(s, y), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, PAD), cuts=cuts_strategy, seed=st.integers(0, 10_000))
def test_buffer_merged_over_any_split_equals_whole(n, cuts, seed):
  s, y = _data(seed, n)
  parts = [M.ScoreBuffer.from_batch(sb, yb, m) for sb, yb, m in padded_batches([s, y], cuts)]
  assert merged(parts).compute() == pytest.approx(M.roc_auc(s, y), abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, PAD), cuts=cuts_strategy, seed=st.integers(0, 10_000))
def test_histogram_exact_for_binned_scores_and_mergeable(n, cuts, seed):
  s, y = _data(seed, n, levels=10)  # scores k/10: each of 100 bins holds at most one value
  s = np.clip(s, 0.005, 0.995)  # keep 0 and 1 inside the end bins' interiors
  parts = [M.RocHistogram.from_batch(sb, yb, m, num_bins=100)
           for sb, yb, m in padded_batches([s, y], cuts)]
  whole = M.RocHistogram.from_batch(*padded_batches([s, y], [])[0], num_bins=100)
  h = merged(parts)
  np.testing.assert_array_equal(h.pos, whole.pos)
  np.testing.assert_array_equal(h.neg, whole.neg)
  assert h.compute() == pytest.approx(M.roc_auc(s, y), abs=1e-9)
  fpr, tpr = h.curve()
  assert np.trapezoid(tpr, fpr) == pytest.approx(h.compute(), abs=1e-9)


def test_histogram_counts_same_bin_pairs_as_half():
  h = M.RocHistogram.from_batch(np.array([0.11, 0.12, 0.5]), np.array([1, 0, 0]), num_bins=10)
  assert h.compute() == pytest.approx(0.25)  # positive ties its bin-mate, loses to 0.5
