"""Confusion counts (curriculum MET-1): the multi-class confusion matrix and binary TP/TN/FP/FN."""

from __future__ import annotations

import flax.struct
import jax.numpy as jnp
import numpy as np

from dlcore.metrics.stats import Additive, weights


@flax.struct.dataclass
class Confusion(Additive):
  """MET-1 C[i, j] = #examples with true class i predicted as class j (rows: truth).

  Mergeable by addition. All classification figures (accuracy, precision, recall, F1, FPR) are
  functions of this matrix; see `dlcore.metrics.prf`.
  """
  matrix: jnp.ndarray  # (K, K) float32 counts

  @classmethod
  def from_batch(cls, predictions: jnp.ndarray, labels: jnp.ndarray, num_classes: int,
                 mask: jnp.ndarray | None = None) -> "Confusion":
    """C = sum_n w_n onehot(y_n) onehot(y_hat_n)^T over valid rows (jittable; K static)."""
    n = labels.shape[0]
    w = weights(mask, n)
    t = jnp.asarray(labels).reshape(n).astype(jnp.int32)
    p = jnp.asarray(predictions).reshape(n).astype(jnp.int32)
    idx = t * num_classes + p
    flat = jnp.zeros((num_classes * num_classes,), jnp.float32).at[idx].add(w)
    return cls(matrix=flat.reshape(num_classes, num_classes))

  @classmethod
  def empty(cls, num_classes: int) -> "Confusion":
    return cls(matrix=jnp.zeros((num_classes, num_classes), jnp.float32))

  def counts(self) -> dict[str, np.ndarray]:
    """Per-class one-vs-rest counts: TP_k = C_kk, FP_k = sum_i C_ik - TP_k, FN_k = sum_j C_kj -
    TP_k, TN_k = N - TP_k - FP_k - FN_k (MET-1). Arrays of shape (K,), float64."""
    c = np.asarray(self.matrix, np.float64)
    tp = np.diag(c)
    fp = c.sum(0) - tp
    fn = c.sum(1) - tp
    tn = c.sum() - tp - fp - fn
    return {"tp": tp, "tn": tn, "fp": fp, "fn": fn}

  def compute(self) -> np.ndarray:
    """The confusion matrix as a float64 NumPy array."""
    return np.asarray(self.matrix, np.float64)


def binary_counts(predictions, labels, mask=None) -> dict[str, jnp.ndarray]:
  """MET-1 for 0/1 predictions and labels: TP = sum w[y=1, y_hat=1], TN = sum w[y=0, y_hat=0],
  FP = sum w[y=0, y_hat=1], FN = sum w[y=1, y_hat=0] (jittable, mask-aware)."""
  c = Confusion.from_batch(predictions, labels, 2, mask).matrix
  return {"tp": c[1, 1], "tn": c[0, 0], "fp": c[0, 1], "fn": c[1, 0]}
