"""Whole-split reports selectable by name (`config.eval.reports`), computed from the model
outputs and labels of every example of a split (one prediction pass, padding removed).

Each report maps (outputs (N, K) or (N,)/(N, 1), labels (N,)) -> {name: float}; the trainer
logs them with the final test event and writes them to <workdir>/reports.json.
"""

from __future__ import annotations

import numpy as np

from dlcore.metrics.calibration import Calibration
from dlcore.metrics.classification import predicted_class
from dlcore.metrics.confusion import Confusion
from dlcore.metrics.prf import precision_recall_f1
from dlcore.metrics.regression import RegressionStats
from dlcore.metrics.roc import roc_auc
from dlcore.registry import Registry

REPORTS: Registry = Registry("report")


def _probabilities(outputs: np.ndarray) -> np.ndarray:
  outputs = np.asarray(outputs, np.float64)
  if outputs.ndim == 1 or outputs.shape[-1] == 1:
    return 1 / (1 + np.exp(-outputs.reshape(-1)))  # P(class 1)
  z = outputs - outputs.max(-1, keepdims=True)
  e = np.exp(z)
  return e / e.sum(-1, keepdims=True)


@REPORTS.register("per_class")
def per_class_report(outputs, labels) -> dict[str, float]:
  """MET-1..5: accuracy, macro/micro F1, and precision/recall/F1 of every class."""
  pred = np.asarray(predicted_class(np.asarray(outputs)))
  labels = np.asarray(labels).astype(np.int64)
  k = int(max(labels.max(initial=0), pred.max(initial=0)) + 1)
  k = max(k, 2, np.asarray(outputs).shape[-1] if np.ndim(outputs) == 2 else 2)
  conf = Confusion.from_batch(pred, labels, k)
  out = {"macro_f1": precision_recall_f1(conf, "macro")["f1"],
         "micro_f1": precision_recall_f1(conf, "micro")["f1"]}
  per = precision_recall_f1(conf, None)
  for c in range(k):
    out.update({f"precision_{c}": float(per["precision"][c]),
                f"recall_{c}": float(per["recall"][c]), f"f1_{c}": float(per["f1"][c])})
  return out


@REPORTS.register("roc_auc")
def roc_auc_report(outputs, labels) -> dict[str, float]:
  """MET-7 exact, tie-aware AUC; binary (one logit) or one-vs-rest macro AUC (K logits)."""
  probs, labels = _probabilities(outputs), np.asarray(labels).astype(np.int64)
  if probs.ndim == 1:
    return {"auc": roc_auc(probs, labels)}
  aucs = [roc_auc(probs[:, c], labels == c) for c in range(probs.shape[1])
          if 0 < (labels == c).sum() < len(labels)]
  return {"auc_macro_ovr": float(np.mean(aucs))}


@REPORTS.register("calibration")
def calibration_report(outputs, labels, num_bins: int = 15) -> dict[str, float]:
  """Expected calibration error over `num_bins` equal-width confidence bins."""
  stats = Calibration.from_batch(_probabilities(outputs), np.asarray(labels), num_bins=num_bins)
  return {"ece": float(stats.compute())}


@REPORTS.register("regression")
def regression_report(outputs, labels) -> dict[str, float]:
  """MET-8..11: MSE, RMSE, MAE, R²."""
  values = RegressionStats.from_batch(np.asarray(outputs), np.asarray(labels)).compute()
  return {k: float(v) for k, v in values.items()}


def compute_reports(names, outputs, labels) -> dict[str, float]:
  out: dict[str, float] = {}
  for name in names:
    out.update(REPORTS.get(name)(outputs, labels))
  return out
