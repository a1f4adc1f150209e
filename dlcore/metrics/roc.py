"""Exact, tie-aware ROC curve and AUC over a whole split (curriculum MET-6, MET-7).

Host-side NumPy in float64; O(n log n). Optional per-example weights (0 for padding rows).
"""

from __future__ import annotations

import numpy as np


def _grouped(scores, labels, weights=None):
  """Distinct scores ascending with the positive and negative weight at each score."""
  s = np.asarray(scores, np.float64).reshape(-1)
  y = np.asarray(labels).reshape(-1).astype(bool)
  w = np.ones_like(s) if weights is None else np.asarray(weights, np.float64).reshape(-1)
  values, inv = np.unique(s, return_inverse=True)
  pos = np.bincount(inv, w * y, minlength=len(values))
  neg = np.bincount(inv, w * ~y, minlength=len(values))
  return values, pos, neg


def auc_from_counts(pos, neg) -> float:
  """MET-7 AUC from positive/negative counts per score group, groups in ascending score order:

  AUC = sum_g pos_g (N_below_g + neg_g / 2) / (P N), i.e. the probability that a random positive
  outscores a random negative, a tie counting 1/2. NaN if P = 0 or N = 0.
  """
  pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
  p, n = pos.sum(), neg.sum()
  if p <= 0 or n <= 0:
    return float("nan")
  below = np.cumsum(neg) - neg
  return float((pos * (below + 0.5 * neg)).sum() / (p * n))


def roc_auc(scores, labels, weights=None) -> float:
  """MET-7 exact AUC = P(s+ > s-) + 1/2 P(s+ = s-) over all (positive, negative) pairs.

  Equals the trapezoidal area under `roc_curve` and sklearn's roc_auc_score; invariant to
  strictly increasing transforms of the scores. labels: 0/1; weights: optional per-example.
  """
  _, pos, neg = _grouped(scores, labels, weights)
  return auc_from_counts(pos, neg)


def curve_from_counts(pos, neg):
  """(fpr, tpr) for thresholds at each group, descending, starting at (0, 0)."""
  pos, neg = np.asarray(pos, np.float64)[::-1], np.asarray(neg, np.float64)[::-1]
  tpr = np.concatenate([[0.0], np.cumsum(pos)]) / max(pos.sum(), 1e-300)
  fpr = np.concatenate([[0.0], np.cumsum(neg)]) / max(neg.sum(), 1e-300)
  return fpr, tpr


def roc_curve(scores, labels, weights=None):
  """MET-6/7 ROC: for each threshold t (distinct scores, descending; first t = +inf),
  TPR(t) = #{pos: s >= t} / P and FPR(t) = #{neg: s >= t} / N.

  Returns (fpr, tpr, thresholds); the same points as sklearn's roc_curve(drop_intermediate=False).
  """
  values, pos, neg = _grouped(scores, labels, weights)
  fpr, tpr = curve_from_counts(pos, neg)
  return fpr, tpr, np.concatenate([[np.inf], values[::-1]])
