"""Mergeable metrics (curriculum §5): sums and counts that add across steps and devices.

`METRICS` maps config names to per-example functions `fn(outputs, targets) -> values`; the
trainer averages them over the valid (unmasked) examples of a split.
"""

from dlcore.metrics.average import Average, compute, merge, merge_all
from dlcore.metrics.classification import accuracy_counts, predicted_class
from dlcore.metrics.registry import METRICS

__all__ = ["Average", "merge", "merge_all", "compute", "accuracy_counts", "predicted_class", "METRICS"]
