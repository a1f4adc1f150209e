"""Losses (curriculum §4). Each returns per-example values; `reduce_loss` applies mask and reduction.

Registry `LOSSES` maps config names to functions `fn(outputs, targets) -> per-example loss`.
"""

from dlcore.losses.base import LOSSES, reduce_loss
from dlcore.losses.classification import (binary_cross_entropy_with_logits,
                                          softmax_cross_entropy)
from dlcore.losses.regression import mean_squared_error

__all__ = [
    "LOSSES", "reduce_loss", "softmax_cross_entropy", "binary_cross_entropy_with_logits",
    "mean_squared_error"
]
