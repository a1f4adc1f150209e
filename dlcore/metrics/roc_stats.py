"""Mergeable ROC/AUC statistics (curriculum MET-7), two choices:

- `ScoreBuffer` keeps every (score, label, weight); merge is concatenation, so the AUC is
  exact for any split into batches, at O(N) memory. Use it for evaluation splits.
- `RocHistogram` keeps positive/negative weight per fixed equal-width score bin over [lo, hi];
  merge is addition (fixed size, jittable, cheap to all-reduce). Pairs in different bins are
  ordered exactly; pairs in the same bin count 1/2, so the AUC is exact when no bin holds two
  distinct scores (e.g. quantised scores) and otherwise within the mass of same-bin pairs.
"""

from __future__ import annotations

import flax.struct
import jax.numpy as jnp
import numpy as np

from dlcore.metrics.roc import auc_from_counts, curve_from_counts, roc_auc
from dlcore.metrics.stats import Additive, weights


@flax.struct.dataclass
class ScoreBuffer:
  """Exact AUC statistics: the scores, 0/1 labels and weights (mask) of every example seen."""
  scores: jnp.ndarray
  labels: jnp.ndarray
  weights: jnp.ndarray

  @classmethod
  def from_batch(cls, scores, labels, mask=None) -> "ScoreBuffer":
    """Keeps the batch as is (jittable); padding rows get weight 0."""
    n = jnp.asarray(labels).shape[0]
    return cls(scores=jnp.asarray(scores, jnp.float32).reshape(n),
               labels=jnp.asarray(labels).reshape(n).astype(jnp.int32), weights=weights(mask, n))

  def merge(self, other: "ScoreBuffer") -> "ScoreBuffer":
    """Concatenation (host NumPy): the buffer of the union of both parts."""
    return ScoreBuffer(*(np.concatenate([np.asarray(a), np.asarray(b)])
                         for a, b in ((self.scores, other.scores), (self.labels, other.labels),
                                      (self.weights, other.weights))))

  def compute(self) -> float:
    """MET-7 exact tie-aware AUC of everything merged (see `roc.roc_auc`)."""
    return roc_auc(self.scores, self.labels, self.weights)


@flax.struct.dataclass
class RocHistogram(Additive):
  """Per-bin positive and negative weights of the scores over B equal-width bins of [lo, hi]."""
  pos: jnp.ndarray  # (B,)
  neg: jnp.ndarray  # (B,)
  lo: float = flax.struct.field(pytree_node=False, default=0.0)
  hi: float = flax.struct.field(pytree_node=False, default=1.0)

  @classmethod
  def from_batch(cls, scores, labels, mask=None, num_bins: int = 1000, lo: float = 0.0,
                 hi: float = 1.0) -> "RocHistogram":
    """bin(s) = clip(floor((s - lo) / (hi - lo) * B), 0, B - 1); scores outside are clipped."""
    n = jnp.asarray(labels).shape[0]
    w = weights(mask, n)
    s = jnp.asarray(scores, jnp.float32).reshape(n)
    b = jnp.clip(jnp.floor((s - lo) / (hi - lo) * num_bins), 0, num_bins - 1).astype(jnp.int32)
    y = jnp.asarray(labels).reshape(n).astype(jnp.float32)
    zeros = jnp.zeros((num_bins,), jnp.float32)
    return cls(pos=zeros.at[b].add(w * y), neg=zeros.at[b].add(w * (1 - y)), lo=lo, hi=hi)

  def compute(self) -> float:
    """MET-7 AUC = sum_b pos_b (N_below_b + neg_b / 2) / (P N)."""
    return auc_from_counts(self.pos, self.neg)

  def curve(self):
    """(fpr, tpr) at the bin edges, thresholds descending from above the top bin."""
    return curve_from_counts(self.pos, self.neg)
