"""Confusion counts, accuracy, P/R/F1, top-k (MET-1..6, MET-17) vs scikit-learn; merging."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, top_k_accuracy_score

from dlcore import metrics as M
from test_metrics_helpers import PAD, cuts_strategy, merged, padded_batches

K = 4


def _data(seed, n=PAD, k=K):
  rng = np.random.default_rng(seed)
  return rng.integers(0, k, n), rng.integers(0, k, n)


def test_confusion_matrix_matches_sklearn_with_mask():
  y, p = _data(0)
  mask = (np.arange(PAD) % 3 != 0).astype(np.float32)
  conf = M.Confusion.from_batch(p, y, K, mask).compute()
  keep = mask > 0
  np.testing.assert_array_equal(conf, confusion_matrix(y[keep], p[keep], labels=range(K)))


def test_binary_counts_match_sklearn():
  y, p = _data(1, k=2)
  c = {k: float(v) for k, v in M.binary_counts(p, y).items()}
  tn, fp, fn, tp = confusion_matrix(y, p, labels=[0, 1]).ravel()
  assert c == {"tp": tp, "tn": tn, "fp": fp, "fn": fn}


@pytest.mark.parametrize("average", ["macro", "micro", None])
def test_precision_recall_f1_multiclass_match_sklearn(average):
  y, p = _data(2)
  got = M.precision_recall_f1(M.Confusion.from_batch(p, y, K), average)
  want = precision_recall_fscore_support(y, p, labels=range(K), average=average,
                                         zero_division=0)
  for name, w in zip(["precision", "recall", "f1"], want[:3]):
    np.testing.assert_allclose(got[name], w, rtol=1e-12)


def test_binary_prf_tpr_fpr_accuracy():
  y, p = _data(3, k=2)
  conf = M.Confusion.from_batch(p, y, 2)
  got = M.precision_recall_f1(conf, "binary")
  want = precision_recall_fscore_support(y, p, average="binary", zero_division=0)
  np.testing.assert_allclose([got["precision"], got["recall"], got["f1"]], want[:3])
  tp, tn = np.sum((y == 1) & (p == 1)), np.sum((y == 0) & (p == 0))
  fp, fn = np.sum((y == 0) & (p == 1)), np.sum((y == 1) & (p == 0))
  assert M.tpr_fpr(conf) == pytest.approx({"tpr": tp / (tp + fn), "fpr": fp / (fp + tn)})
  assert M.accuracy(conf) == pytest.approx(np.mean(y == p))
  assert got["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_zero_division_gives_zero():
  conf = M.Confusion.from_batch(np.zeros(5), np.zeros(5), 2)  # no positives at all
  assert M.precision_recall_f1(conf, "binary") == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_top_k_matches_sklearn(k):
  rng = np.random.default_rng(4)
  scores, y = rng.normal(size=(PAD, 10)).astype(np.float32), rng.integers(0, 10, PAD)
  got = np.mean(np.asarray(M.top_k_correct(jnp.asarray(scores), jnp.asarray(y), k)))
  assert got == pytest.approx(top_k_accuracy_score(y, scores, k=k, labels=range(10)))
  err = np.mean(np.asarray(M.top_k_error(jnp.asarray(scores), jnp.asarray(y), k)))
  assert err == pytest.approx(1 - got)


def test_registry_entries_keep_signature():
  rng = np.random.default_rng(5)
  out, y = jnp.asarray(rng.normal(size=(PAD, 10))), jnp.asarray(rng.integers(0, 10, PAD))
  acc = np.asarray(M.METRICS.get("accuracy")(out, y))
  np.testing.assert_array_equal(acc, np.argmax(out, -1) == y)
  np.testing.assert_array_equal(M.METRICS.get("error_rate")(out, y), 1 - acc)
  np.testing.assert_array_equal(M.METRICS.get("top5_accuracy")(out, y),
                                M.top_k_correct(out, y, 5))
  np.testing.assert_array_equal(M.METRICS.get("top5_error")(out, y), 1 - M.top_k_correct(out, y))
  pred, tgt = jnp.asarray([[1.0], [3.0]]), jnp.asarray([2.0, 1.0])
  np.testing.assert_allclose(M.METRICS.get("mse")(pred, tgt), [1.0, 4.0])
  np.testing.assert_allclose(M.METRICS.get("mae")(pred, tgt), [1.0, 2.0])


def test_from_batch_is_jittable_and_merges_in_merge_all():
  y, p = _data(6)
  f = jax.jit(M.Confusion.from_batch, static_argnums=2)
  steps = [{"conf": f(p, y, K), "acc": M.Average.from_values(p == y)} for _ in range(3)]
  out = M.merge_all(steps)
  np.testing.assert_array_equal(out["conf"].compute(), 3 * confusion_matrix(y, p))
  assert M.compute({"acc": out["acc"]}) == {"acc": pytest.approx(np.mean(p == y)),
                                            "num_examples": 3 * PAD}


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, PAD), cuts=cuts_strategy, seed=st.integers(0, 100))
def test_confusion_merged_over_any_split_equals_whole(n, cuts, seed):
  y, p = _data(seed, n)
  parts = [M.Confusion.from_batch(pb, yb, K, m) for yb, pb, m in padded_batches([y, p], cuts)]
  whole = confusion_matrix(y, p, labels=range(K))
  np.testing.assert_array_equal(merged(parts).compute(), whole)
  scores = np.random.default_rng(seed).normal(size=(n, K)).astype(np.float32)
  parts = [M.Average.from_values(M.top_k_correct(s, yb, 2), m)
           for s, yb, m in padded_batches([scores, y], cuts)]
  assert merged(parts).compute() == pytest.approx(
      top_k_accuracy_score(y, scores, k=2, labels=range(K)))
