"""GloVe's weighted least squares (LOSS-20, ARC-40; Pennington et al. 2014 eq. 8-9):

  J = Σ_{X_ij > 0} f(X_ij) (w_iᵀw̃_j + b_i + b̃_j − log X_ij)²,
  f(x) = (x / x_max)^α if x < x_max else 1        (x_max = 100, α = 0.75 as in the paper)

summed over the non-zero co-occurrence counts only (log 0 is never taken); `glove_loss` gives
the per-entry terms (the training step sums or averages them over a batch of entries).
"""

from __future__ import annotations

import jax.numpy as jnp


def glove_weight(x, x_max: float = 100.0, alpha: float = 0.75):
  """f(x) = min(1, (x / x_max)^α)."""
  return jnp.minimum(1.0, (jnp.asarray(x) / x_max) ** alpha)


def glove_loss(prediction, x, x_max: float = 100.0, alpha: float = 0.75):
  """f(X_ij)(prediction − log X_ij)² per entry; `prediction` = w_iᵀw̃_j + b_i + b̃_j."""
  return glove_weight(x, x_max, alpha) * (prediction - jnp.log(x)) ** 2
