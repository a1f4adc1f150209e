"""Accuracy, precision, recall, F1, TPR, FPR from a confusion matrix (curriculum MET-2..6).

Division by zero gives 0 (sklearn's zero_division=0). 'macro' averages over all K classes of the
matrix (sklearn with labels=range(K)); 'micro' pools the counts of all classes.
"""

from __future__ import annotations

import numpy as np

from dlcore.metrics.confusion import Confusion
from dlcore.metrics.stats import safe_div


def accuracy(conf: Confusion) -> float:
  """MET-2 accuracy = (TP + TN) / N = trace(C) / sum(C); error rate = 1 - accuracy (MET-17)."""
  c = conf.compute()
  return float(safe_div(np.trace(c), c.sum()))


def _reduce(tp, fp, fn, average: str | None, pos_label: int) -> dict:
  if average == "micro":
    tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
  elif average == "binary":
    tp, fp, fn = tp[pos_label], fp[pos_label], fn[pos_label]
  elif average not in ("macro", None):
    raise ValueError(f"average must be 'binary', 'macro', 'micro' or None, got {average!r}")
  p = safe_div(tp, tp + fp)
  r = safe_div(tp, tp + fn)
  f = safe_div(2 * tp, 2 * tp + fp + fn)
  if average == "macro":
    p, r, f = p.mean(), r.mean(), f.mean()
  return {"precision": p, "recall": r, "f1": f}


def precision_recall_f1(conf: Confusion, average: str | None = "macro",
                        pos_label: int = 1) -> dict:
  """MET-3..5 precision P = TP/(TP+FP), recall R = TP/(TP+FN), F1 = 2PR/(P+R) = 2TP/(2TP+FP+FN).

  average: 'binary' (class `pos_label` only), 'macro' (unweighted mean of the per-class
  figures), 'micro' (from the summed counts; equals accuracy for single-label data) or None
  (per-class arrays of shape (K,)). Scalars are returned as Python floats.
  """
  k = conf.counts()
  out = _reduce(k["tp"], k["fp"], k["fn"], average, pos_label)
  return {n: (float(v) if np.ndim(v) == 0 else v) for n, v in out.items()}


def tpr_fpr(conf: Confusion, pos_label: int = 1) -> dict[str, float]:
  """MET-4, MET-6 for class `pos_label` vs rest: TPR = TP/(TP+FN), FPR = FP/(FP+TN)."""
  k = {n: v[pos_label] for n, v in conf.counts().items()}
  return {"tpr": float(safe_div(k["tp"], k["tp"] + k["fn"])),
          "fpr": float(safe_div(k["fp"], k["fp"] + k["tn"]))}
