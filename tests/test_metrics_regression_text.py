"""MSE/RMSE/MAE/R² (MET-8..11), perplexity (MET-12), BLEU (MET-13), ECE: references; merging."""

import math

import chex
import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from dlcore import metrics as M
from dlcore import testing as dt
from test_metrics_helpers import PAD, cuts_strategy, merged, padded_batches


def _reg(seed, n):
  rng = np.random.default_rng(seed)
  y = rng.normal(size=n).astype(np.float32)
  return (y + rng.normal(scale=0.5, size=n)).astype(np.float32), y


def _check_reg(got, p, y):
  assert got["mse"] == pytest.approx(mean_squared_error(y, p), rel=1e-5)
  assert got["rmse"] == pytest.approx(math.sqrt(mean_squared_error(y, p)), rel=1e-5)
  assert got["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-5)
  assert got["r2"] == pytest.approx(r2_score(y, p), rel=1e-4, abs=1e-5)


def test_regression_matches_sklearn():
  p, y = _reg(0, PAD)
  _check_reg(M.RegressionStats.from_batch(p[:, None], y).compute(), p, y)


def test_r2_constant_target():
  y = np.full(4, 2.0, np.float32)
  assert M.RegressionStats.from_batch(y, y).compute()["r2"] == 1.0
  assert M.RegressionStats.from_batch(y + 1, y).compute()["r2"] == 0.0


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, PAD), cuts=cuts_strategy, seed=st.integers(0, 10_000))
def test_regression_merged_over_any_split_equals_whole(n, cuts, seed):
  p, y = _reg(seed, n)
  parts = [M.RegressionStats.from_batch(pb, yb, m) for pb, yb, m in padded_batches([p, y], cuts)]
  _check_reg(merged(parts).compute(), p, y)
  out = M.compute(M.merge_all([{"reg": x} for x in parts]))
  assert out["reg_mse"] == pytest.approx(mean_squared_error(y, p), rel=1e-5)


def _np_stats(p, y, m):
  """RegressionStats' sufficient statistics in NumPy float64."""
  y, e = y.astype(np.float64), y.astype(np.float64) - p.astype(np.float64)
  return M.RegressionStats(count=m.sum(), sum_y=(m * y).sum(), sum_y2=(m * y * y).sum(),
                           sum_sq_err=(m * e * e).sum(), sum_abs_err=(m * np.abs(e)).sum())


class RegressionStatsVariantsTest(chex.TestCase):
  """from_batch is a pure function: the same pytree with and without jit, and summed over
  devices (pmap + psum) it equals the whole batch's statistics."""

  @chex.variants(with_jit=True, without_jit=True)
  @settings(max_examples=8, deadline=None)
  @given(dt.arrays((8,), min_value=-5, max_value=5), dt.arrays((8,), min_value=-5, max_value=5),
         dt.arrays((8,), np.bool_))
  def test_from_batch_equals_numpy_sums(self, p, y, keep):
    m = keep.astype(np.float32)
    got = self.variant(M.RegressionStats.from_batch)(p[:, None], y, m)
    chex.assert_shape(jax.tree.leaves(got), ())
    chex.assert_type(jax.tree.leaves(got), np.float32)
    chex.assert_trees_all_close(got, _np_stats(p, y, m), rtol=1e-5, atol=1e-4)

  @chex.variants(with_pmap=True)
  def test_per_device_stats_psummed_equal_the_whole_batch(self):
    rng = np.random.default_rng(3)
    p, y = rng.normal(size=(4, 6)).astype(np.float32), rng.normal(size=(4, 6)).astype(np.float32)
    m = (rng.random((4, 6)) < 0.8).astype(np.float32)

    def per_device(pb, yb, mb):
      return jax.lax.psum(M.RegressionStats.from_batch(pb, yb, mb), "i")

    want = _np_stats(p.ravel(), y.ravel(), m.ravel())
    with chex.fake_pmap():  # pmap as vmap: the same program without device transfers
      fake = self.variant(per_device, broadcast_args_to_devices=False, n_devices=4)(p, y, m)
    real = self.variant(per_device, broadcast_args_to_devices=False, n_devices=4)(p, y, m)
    chex.assert_trees_all_close(fake, want, rtol=1e-5, atol=1e-5)
    chex.assert_trees_all_close(real, fake, rtol=1e-6)


def _log_softmax(z):
  z = z - z.max(-1, keepdims=True)
  return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_perplexity_matches_numpy_and_merges():
  rng = np.random.default_rng(1)
  logits, tgt = rng.normal(size=(4, 6, 7)).astype(np.float32), rng.integers(0, 7, (4, 6))
  mask = (rng.random((4, 6)) < 0.7).astype(np.float32)
  nll = -np.take_along_axis(_log_softmax(logits.astype(np.float64)), tgt[..., None], -1)[..., 0]
  want = np.exp((nll * mask).sum() / mask.sum())
  whole = M.Perplexity.from_batch(logits, tgt, mask)
  parts = [M.Perplexity.from_batch(logits[i:i + 1], tgt[i:i + 1], mask[i:i + 1]) for i in range(4)]
  assert whole.compute() == pytest.approx(want, rel=1e-5)
  assert merged(parts).compute() == pytest.approx(want, rel=1e-5)
  uniform = M.Perplexity.from_batch(np.zeros((3, 7)), np.arange(3))
  assert uniform.compute() == pytest.approx(7.0, rel=1e-6)  # uniform over V -> PPL = V


def _ref_bleu(hyps, refs):
  """Hand-written corpus BLEU: clipped n-gram precisions (n=1..4), geometric mean, BP."""
  match, total, c, r = [0] * 4, [0] * 4, 0, 0
  for h, rs in zip(hyps, refs):
    c += len(h)
    r += sorted(rs, key=lambda x: (abs(len(x) - len(h)), len(x)))[0].__len__()
    for n in range(1, 5):
      grams = [tuple(h[i:i + n]) for i in range(len(h) - n + 1)]
      for g in set(grams):
        best = max(sum(tuple(x[i:i + n]) == g for i in range(len(x) - n + 1)) for x in rs)
        match[n - 1] += min(grams.count(g), best)
      total[n - 1] += len(grams)
  if min(match) == 0:
    return 0.0
  bp = 1.0 if c > r else math.exp(1 - r / c)
  return bp * math.exp(sum(math.log(m / t) for m, t in zip(match, total)) / 4)


HYPS = ["the cat sat on the mat today".split(), "it is a guide to action which ensures".split(),
        "he read the book because he was interested in world history".split()]
REFS = [["the cat is sitting on the mat today".split(), "a cat sat on the mat".split()],
        ["it is a guide to action that ensures that the military will obey".split()],
        ["he was interested in world history because he read the book".split()]]


def test_bleu_matches_hand_reference():
  want = _ref_bleu(HYPS, REFS)
  assert 0 < want < 1
  assert M.corpus_bleu(HYPS, REFS) == pytest.approx(want, rel=1e-12)
  parts = [M.BleuStats.from_batch([h], [r]) for h, r in zip(HYPS, REFS)]
  assert merged(parts).compute() == pytest.approx(want, rel=1e-12)


def test_bleu_literal_cases():
  ref = "a b c d e f g".split()
  assert M.corpus_bleu([ref[:5]], [ref]) == pytest.approx(math.exp(1 - 7 / 5))  # p_n = 1, BP
  assert M.corpus_bleu(HYPS, [r[0] for r in REFS[:1]] + [r[0] for r in REFS[1:]]) > 0
  same = [r[0] for r in REFS]
  assert M.corpus_bleu(same, same) == 1.0
  assert M.corpus_bleu([list("abcdef")], [list("abcxdefz")]) == 0.0  # no 4-gram match


def test_bleu_token_ids_with_padding_and_mask():
  hyp = np.array([[5, 6, 7, 8, 9, 0, 0], [1, 2, 3, 4, 0, 0, 0], [9, 9, 9, 9, 9, 9, 9]])
  ref = np.array([[5, 6, 7, 8, 9, 4, 0], [1, 2, 3, 4, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1]])
  got = M.BleuStats.from_batch(hyp, ref, mask=[1, 1, 0], pad_id=0).compute()
  assert got == pytest.approx(_ref_bleu([[5, 6, 7, 8, 9], [1, 2, 3, 4]],
                                        [[[5, 6, 7, 8, 9, 4]], [[1, 2, 3, 4]]]))


def _ref_ece(probs, y, bins):
  conf, pred = probs.max(1), probs.argmax(1)
  edges = np.linspace(0, 1, bins + 1)
  ece = 0.0
  for lo, hi in zip(edges[:-1], edges[1:]):
    inb = (conf > lo) & (conf <= hi)
    if inb.any():
      ece += inb.mean() * abs((pred[inb] == y[inb]).mean() - conf[inb].mean())
  return ece


def test_ece_perfectly_calibrated_is_zero():
  # confidence 0.75 on 4 examples with 3 correct; confidence 0.95 on 20 with 19 correct
  p = np.array([[0.25, 0.75]] * 4 + [[0.05, 0.95]] * 20, np.float32)
  y = np.array([1, 1, 1, 0] + [1] * 19 + [0])
  assert M.Calibration.from_batch(p, y, num_bins=10).compute() == pytest.approx(0.0, abs=1e-6)
  assert M.Calibration.from_batch(p[:, 1], y, num_bins=10).compute() == pytest.approx(0.0,
                                                                                      abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, PAD), cuts=cuts_strategy, seed=st.integers(0, 10_000))
def test_ece_matches_numpy_and_merges(n, cuts, seed):
  rng = np.random.default_rng(seed)
  z = rng.normal(size=(n, 3)) * 2
  p = np.exp(_log_softmax(z)).astype(np.float32)
  y = rng.integers(0, 3, n)
  parts = [M.Calibration.from_batch(pb, yb, m, num_bins=10)
           for pb, yb, m in padded_batches([p, y], cuts)]
  assert merged(parts).compute() == pytest.approx(_ref_ece(p, y, 10), abs=1e-5)
