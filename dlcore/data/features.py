"""Declared features: what each column of a split holds, so preprocessing is chosen per feature.

A split is a mapping of named columns (arrays with examples on axis 0). Each column has a
`Feature` whose `kind` says how the trainer treats it:

  image    pixels (H, W[, C]); uint8 or float. Cast, scaled or standardised, augmented on device.
  dense    real-valued features (d,) or any float array. Cast to float32, standardised on demand.
  tokens   integer ids (T,) of a vocabulary. Never cast: they stay int32 for embedding lookups.
  lengths  the true length of each padded sequence (int).
  label    a class index (int) or a regression target (float) per example.
  target   a sequence target (T,) of token ids (int).
  mask     a per-example (or per-position) weight; 1 = real.
  graph    arrays that describe a graph rather than examples (edge lists, node masks).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from dlcore.errors import DataError

KINDS = ("image", "dense", "tokens", "lengths", "label", "target", "mask", "graph")
TRANSFORMED = ("image", "dense")  # the kinds make_preprocess casts and normalises


@dataclasses.dataclass(frozen=True)
class Feature:
  kind: str
  dtype: str
  shape: tuple[int, ...]  # per example

  def __post_init__(self):
    if self.kind not in KINDS:
      raise DataError(f"feature kind {self.kind!r} is not one of {', '.join(KINDS)}.")


def infer_feature(name: str, column: Any) -> Feature:
  """The feature of a column without a declaration: 'label', 'mask', 'lengths' by name; integer
  'inputs'/'tokens' of rank 1 per example are tokens; uint8 rank 2-3 per example is an image;
  anything else float is dense."""
  dtype = np.dtype(getattr(column, "dtype", np.float32))
  shape = tuple(int(d) for d in np.shape(column)[1:]) if hasattr(column, "shape") else ()
  if name in ("label", "mask", "lengths", "target"):
    return Feature(name, str(dtype), shape)
  if dtype == np.uint8 and len(shape) in (2, 3):
    return Feature("image", str(dtype), shape)
  if np.issubdtype(dtype, np.integer) and name in ("tokens", "inputs") and len(shape) == 1:
    return Feature("tokens", str(dtype), shape)
  return Feature("dense", str(dtype), shape)


def infer_features(split: Mapping[str, Any], declared: Mapping[str, Feature] | None = None
                   ) -> dict[str, Feature]:
  """{column: Feature} of a split: the declared ones, the others inferred (`infer_feature`)."""
  declared = dict(declared or {})
  return {name: declared.get(name) or infer_feature(name, column)
          for name, column in split.items()}
