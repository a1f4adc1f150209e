"""Mergeable corpus BLEU (curriculum MET-13), canonical Papineni et al. (2002), no smoothing.

Statistics (host NumPy, merge = addition): clipped n-gram matches m_n and hypothesis n-gram
totals t_n for n = 1..4, hypothesis length c and effective reference length r (per sentence, the
reference length closest to the hypothesis length, the shorter on a tie).
"""

from __future__ import annotations

import collections
from typing import Sequence

import flax.struct
import numpy as np

from dlcore.metrics.stats import Additive

MAX_N = 4


def _ngrams(tokens: Sequence, n: int) -> collections.Counter:
  return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _as_refs(refs) -> list[list]:
  """A single token sequence or a list of them -> a list of token lists."""
  refs = list(refs)
  if refs and isinstance(refs[0], (list, tuple, np.ndarray)):
    return [list(r) for r in refs]
  return [refs]


def _strip(tokens, pad_id):
  tokens = list(np.asarray(tokens).tolist()) if isinstance(tokens, np.ndarray) else list(tokens)
  return tokens if pad_id is None else [t for t in tokens if t != pad_id]


@flax.struct.dataclass
class BleuStats(Additive):
  """m_n, t_n (shape (4,)), c, r; BLEU = BP exp(Σ_n ¼ log(m_n / t_n))."""
  matches: np.ndarray
  totals: np.ndarray
  hyp_len: np.ndarray
  ref_len: np.ndarray

  @classmethod
  def from_batch(cls, hypotheses, references, mask=None, pad_id=None) -> "BleuStats":
    """hypotheses: token sequences; references[i]: one token sequence or a list of them.

    Tokens equal to `pad_id` are dropped; rows with mask 0 are skipped. Host-side (not jitted).
    """
    m, t = np.zeros(MAX_N), np.zeros(MAX_N)
    c = r = 0.0
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
      if mask is not None and not np.asarray(mask).reshape(-1)[i]:
        continue
      hyp = _strip(hyp, pad_id)
      refs = [_strip(x, pad_id) for x in _as_refs(refs)]
      c += len(hyp)
      r += min((abs(len(x) - len(hyp)), len(x)) for x in refs)[1]
      for n in range(1, MAX_N + 1):
        h = _ngrams(hyp, n)
        best = collections.Counter()
        for x in refs:
          best |= _ngrams(x, n)  # max count per n-gram over the references
        m[n - 1] += sum(min(k, best[g]) for g, k in h.items())
        t[n - 1] += max(len(hyp) - n + 1, 0)
    return cls(matches=m, totals=t, hyp_len=np.float64(c), ref_len=np.float64(r))

  def compute(self) -> float:
    """MET-13 BLEU = BP exp((1/4) Σ_{n=1..4} log p_n), p_n = m_n / t_n,
    BP = 1 if c > r else exp(1 - r/c); 0 if any m_n = 0 (no 4-gram match gives 0) or c = 0."""
    m, t = np.asarray(self.matches, np.float64), np.asarray(self.totals, np.float64)
    c, r = float(self.hyp_len), float(self.ref_len)
    if c == 0 or np.any(m == 0):
      return 0.0
    bp = 1.0 if c > r else float(np.exp(1.0 - r / c))
    return bp * float(np.exp(np.mean(np.log(m / t))))


def corpus_bleu(hypotheses, references, pad_id=None) -> float:
  """MET-13 corpus BLEU of a whole corpus (see `BleuStats.compute`)."""
  return BleuStats.from_batch(hypotheses, references, pad_id=pad_id).compute()
