"""Mergeable regression statistics: MSE, RMSE, MAE, R² (curriculum MET-8..11)."""

from __future__ import annotations

import flax.struct
import jax.numpy as jnp
import numpy as np

from dlcore.metrics.stats import Additive, weights


@flax.struct.dataclass
class RegressionStats(Additive):
  """Sums over valid examples: n, Σy, Σy², Σ(y - ŷ)², Σ|y - ŷ| (merge = addition).

  SS_tot = Σy² - (Σy)²/n is formed on the host in float64 from float32 sums, so targets with a
  mean much larger than their spread lose precision; standardise such targets first.
  """
  count: jnp.ndarray
  sum_y: jnp.ndarray
  sum_y2: jnp.ndarray
  sum_sq_err: jnp.ndarray
  sum_abs_err: jnp.ndarray

  @classmethod
  def from_batch(cls, predictions, targets, mask=None) -> "RegressionStats":
    """Jittable; predictions of shape (B,) or (B, 1) (or (B, D): every output counts)."""
    t = jnp.asarray(targets, jnp.float32)
    p = jnp.asarray(predictions, jnp.float32).reshape(t.shape)
    w = weights(mask, t.shape[0]).reshape((-1,) + (1,) * (t.ndim - 1))
    w = jnp.broadcast_to(w, t.shape)
    e = t - p
    return cls(count=w.sum(), sum_y=(w * t).sum(), sum_y2=(w * t * t).sum(),
               sum_sq_err=(w * e * e).sum(), sum_abs_err=(w * jnp.abs(e)).sum())

  def compute(self) -> dict[str, float]:
    """MET-8 MSE = Σ(y-ŷ)²/n; MET-9 RMSE = √MSE; MET-10 MAE = Σ|y-ŷ|/n;
    MET-11 R² = 1 - SS_res/SS_tot with SS_tot = Σ(y - ȳ)² (R² = 1 if both are 0, 0 if only
    SS_tot is, as sklearn)."""
    n, sy, sy2, sse, sae = (float(np.asarray(v, np.float64)) for v in
                            (self.count, self.sum_y, self.sum_y2, self.sum_sq_err,
                             self.sum_abs_err))
    n_ = max(n, 1e-12)
    mse = sse / n_
    ss_tot = max(sy2 - sy * sy / n_, 0.0)
    if ss_tot > 0:
      r2 = 1.0 - sse / ss_tot
    else:
      r2 = 1.0 if sse == 0 else 0.0
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": sae / n_, "r2": r2}
