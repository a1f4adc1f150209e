"""Shared helpers for the metric tests: cut a split into batches padded to a fixed size."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st

PAD = 48  # every batch is padded to this many rows (one compiled shape per op)


def padded_batches(arrays, cuts, pad_to=PAD, seed=0):
  """Split each array at `cuts`; pad every part to `pad_to` rows with garbage rows (a copy of
  random rows) and return [(parts..., mask)] with mask 0 on the padding."""
  rng = np.random.default_rng(seed)
  n = len(arrays[0])
  edges = [0, *sorted(set(c for c in cuts if 0 < c < n)), n]
  out = []
  for a, b in zip(edges[:-1], edges[1:]):
    fill = rng.integers(0, n, pad_to - (b - a))
    parts = [np.concatenate([x[a:b], x[fill]]) for x in arrays]
    mask = np.concatenate([np.ones(b - a), np.zeros(pad_to - (b - a))]).astype(np.float32)
    out.append((*parts, mask))
  return out


def merged(stats):
  return functools.reduce(lambda a, b: a.merge(b), stats)


cuts_strategy = st.lists(st.integers(1, PAD - 1), max_size=6)
