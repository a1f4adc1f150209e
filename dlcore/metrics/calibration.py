"""Mergeable expected calibration error (ECE) over B equal-width confidence bins."""

from __future__ import annotations

import flax.struct
import jax.numpy as jnp
import numpy as np

from dlcore.metrics.stats import Additive, weights


@flax.struct.dataclass
class Calibration(Additive):
  """Per bin b = (b/B, (b+1)/B]: count n_b, Σ confidence, Σ correct (merge = addition)."""
  count: jnp.ndarray    # (B,)
  conf_sum: jnp.ndarray
  correct_sum: jnp.ndarray

  @classmethod
  def from_batch(cls, probs, labels, mask=None, num_bins: int = 15) -> "Calibration":
    """probs: (N, K) class probabilities, or (N,)/(N, 1) P(class 1) for binary. Confidence is
    max_k p_k, correct is [argmax_k p_k = y]; bin = clip(ceil(conf B) - 1, 0, B - 1). Jittable."""
    p = jnp.asarray(probs, jnp.float32)
    if p.ndim == 1 or p.shape[-1] == 1:
      p1 = p.reshape(-1)
      p = jnp.stack([1 - p1, p1], -1)
    n = p.shape[0]
    w = weights(mask, n)
    conf = p.max(-1)
    correct = (jnp.argmax(p, -1) == jnp.asarray(labels).reshape(n)).astype(jnp.float32)
    b = jnp.clip(jnp.ceil(conf * num_bins) - 1, 0, num_bins - 1).astype(jnp.int32)
    z = jnp.zeros((num_bins,), jnp.float32)
    return cls(count=z.at[b].add(w), conf_sum=z.at[b].add(w * conf),
               correct_sum=z.at[b].add(w * correct))

  def compute(self) -> float:
    """ECE = Σ_b (n_b / N) |acc_b - conf_b| = Σ_b |Σcorrect_b - Σconf_b| / N."""
    n = np.asarray(self.count, np.float64)
    gap = np.abs(np.asarray(self.correct_sum, np.float64) - np.asarray(self.conf_sum, np.float64))
    return float(gap.sum() / max(n.sum(), 1e-12))
