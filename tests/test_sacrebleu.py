"""sacreBLEU wrapper against dlcore's MET-13 corpus BLEU where the two must agree."""

import pytest

from dlcore.metrics.bleu import corpus_bleu
from dlcore.metrics.sacrebleu_score import sacrebleu_corpus

sacrebleu = pytest.importorskip("sacrebleu")

# Lowercased, whitespace-tokenized, no punctuation: 13a tokenization is str.split() here, and
# every n-gram order (1..4) has a match, so sacreBLEU's default 'exp' smoothing changes nothing.
HYPS = ["the cat sat on the mat today", "a quick brown fox jumps over the dog",
        "we like to eat green apples and pears"]
REFS = ["the cat sat on the red mat today", "the quick brown fox jumps over the lazy dog",
        "we like to eat green apples"]


def _dlcore(hyps, refs):
  return corpus_bleu([h.split() for h in hyps], [r.split() for r in refs])


def test_default_agrees_with_dlcore_bleu():
  got = sacrebleu_corpus(HYPS, REFS)
  want = _dlcore(HYPS, REFS)
  assert 0 < want < 1
  assert got["sacrebleu"] / 100 == pytest.approx(want, abs=1e-6)
  assert got["sacrebleu"] == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score, abs=1e-9)
  sig = got["sacrebleu_signature"]
  for part in ("nrefs:1", "case:mixed", "tok:13a", "smooth:exp",
               f"version:{sacrebleu.__version__}"):
    assert part in sig


def test_brevity_penalty_agrees():
  hyps = ["the cat sat on the mat", "the quick brown fox jumps"]  # shorter than the references
  refs = ["the cat sat on the mat today again", "the quick brown fox jumps over the lazy dog"]
  got = sacrebleu_corpus(hyps, refs)["sacrebleu"] / 100
  assert got == pytest.approx(_dlcore(hyps, refs), abs=1e-6)
  assert got < 0.6  # BP < 1 is in effect


def test_smoothing_difference_and_options():
  """No 4-gram match: dlcore (unsmoothed) gives 0; sacreBLEU 'exp' does not, 'none' does."""
  hyps, refs = ["the cat sat down"], ["the cat sat on the mat"]
  assert _dlcore(hyps, refs) == 0.0
  assert sacrebleu_corpus(hyps, refs)["sacrebleu"] > 0
  none = sacrebleu_corpus(hyps, refs, smooth_method="none")
  assert none["sacrebleu"] == 0.0 and "smooth:none" in none["sacrebleu_signature"]
  upper = sacrebleu_corpus([h.upper() for h in HYPS], REFS, tokenize="none", lowercase=True)
  assert upper["sacrebleu"] / 100 == pytest.approx(_dlcore(HYPS, REFS), abs=1e-6)
  assert "case:lc" in upper["sacrebleu_signature"] and "tok:none" in upper["sacrebleu_signature"]


def test_length_mismatch_raises():
  with pytest.raises(ValueError, match="one reference per hypothesis"):
    sacrebleu_corpus(HYPS, REFS[:2])
