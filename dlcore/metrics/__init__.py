"""Mergeable metrics (curriculum §5): sufficient statistics that add across steps and devices.

`METRICS` maps config names to per-example functions `fn(outputs, targets) -> values`; the
trainer averages them over the valid (unmasked) examples of a split. The statistic classes
(`Confusion`, `RegressionStats`, `ScoreBuffer`, `RocHistogram`, `Perplexity`, `BleuStats`,
`Calibration`) each have `from_batch(..., mask)`, `merge(other)` and `compute()`, so an epoch's
figure equals the figure over the whole split at once.
"""

from dlcore.metrics.average import Average, PackedAverages, compute, merge, merge_all
from dlcore.metrics.bleu import BleuStats, corpus_bleu
from dlcore.metrics.calibration import Calibration
from dlcore.metrics.classification import accuracy_counts, predicted_class
from dlcore.metrics.confusion import Confusion, binary_counts
from dlcore.metrics.perplexity import Perplexity
from dlcore.metrics.prf import accuracy, precision_recall_f1, tpr_fpr
from dlcore.metrics.registry import METRICS
from dlcore.metrics.regression import RegressionStats
from dlcore.metrics.roc import auc_from_counts, roc_auc, roc_curve
from dlcore.metrics.roc_stats import RocHistogram, ScoreBuffer
from dlcore.metrics.topk import top_k_correct, top_k_error

__all__ = [
    "PackedAverages",
    "Average", "merge", "merge_all", "compute", "accuracy_counts", "predicted_class", "METRICS",
    "Confusion", "binary_counts", "accuracy", "precision_recall_f1", "tpr_fpr",
    "top_k_correct", "top_k_error", "roc_auc", "roc_curve", "auc_from_counts", "ScoreBuffer",
    "RocHistogram", "RegressionStats", "Perplexity", "BleuStats", "corpus_bleu", "Calibration",
]
