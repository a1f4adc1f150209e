"""Padding token id lists into arrays, and `BucketLoader`: length-bucketed training batches with
the exact-resume contract of `dlcore.data.loader.TrainLoader`.

Bucketing groups examples of similar length so little compute goes to padding, while each batch
is cut to its bucket's upper bound: at most len(boundaries) distinct shapes reach a jitted step.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dlcore.data.loader import EpochPosition
from dlcore.errors import ConfigError, DataError


def _positive_int(value, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ConfigError(f"{name} must be a positive int, got {value!r}.")
  return int(value)


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int = 0, max_len: int | None = None,
                  length_multiple: int = 1,
                  truncate: bool = False) -> tuple[np.ndarray, np.ndarray]:
  """(ids int32 (N, T), lengths int32 (N,)): T is the longest length rounded up to a multiple of
  `length_multiple`. A sequence longer than `max_len` is a DataError, or is cut to max_len with
  truncate=True (T may then exceed max_len by the rounding)."""
  multiple = _positive_int(length_multiple, "length_multiple")
  lengths = np.fromiter((len(s) for s in seqs), np.int32, count=len(seqs))
  if max_len is not None:
    max_len = _positive_int(max_len, "max_len")
    if lengths.size and lengths.max() > max_len:
      if not truncate:
        worst = int(lengths.argmax())
        raise DataError(f"Sequence {worst} has {int(lengths[worst])} tokens, more than "
                        f"max_len={max_len}; raise max_len or pass truncate=True.")
      lengths = np.minimum(lengths, max_len)
  longest = int(lengths.max()) if lengths.size else 0
  width = -(-longest // multiple) * multiple
  ids = np.full((len(seqs), width), pad_id, np.int32)
  for row, (seq, n) in enumerate(zip(seqs, lengths)):
    ids[row, :n] = seq[:n]
  return ids, lengths


class BucketLoader(EpochPosition):
  """Infinite iterator of same-bucket batches. Example i goes to the first bucket whose upper
  bound is >= lengths[i] (`lengths` must cover every `seq_keys` column of the example).

  Epoch e (rng = np.random.default_rng([seed, e])): each bucket's examples are permuted, cut
  into full batches (a bucket's last partial batch is dropped), and all batches are permuted.
  Each `seq_keys` column (N, W, ...) is cut (or padded with `pad_id`) to the bucket bound on
  axis 1; other columns are gathered whole. A batch also has int32 'lengths' (unless a column is
  so named) and a float32 'mask' of ones (an input 'mask' column is gathered instead).
  `get_state()` / `set_state()` are TrainLoader's (`EpochPosition`): restoring yields exactly
  the batches that would have come next.
  """
  what = "BucketLoader"
  changed = "the batch size, dataset or bucketing"

  def __init__(self, columns: dict[str, np.ndarray], lengths: np.ndarray, batch_size: int,
               seed: int, boundaries: Sequence[int], seq_keys: Sequence[str] = ("tokens",),
               pad_id: int = 0, shuffle: bool = True):
    self.batch_size = _positive_int(batch_size, "batch_size")
    self.boundaries = tuple(_positive_int(b, "every bucket boundary") for b in boundaries)
    if not self.boundaries or any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:])):
      raise ConfigError(f"Bucket boundaries must be a non-empty increasing list of positive "
                        f"ints, got {tuple(boundaries)!r}.")
    self.lengths = np.asarray(lengths)
    if self.lengths.ndim != 1 or not np.issubdtype(self.lengths.dtype, np.integer):
      raise DataError(f"lengths must be a 1-D int array, got {self.lengths.dtype} of shape "
                      f"{self.lengths.shape}.")
    self.num_examples = len(self.lengths)
    self.columns = {k: np.ascontiguousarray(v) for k, v in columns.items()}
    rows = {k: v.shape[0] for k, v in self.columns.items()}
    if any(r != self.num_examples for r in rows.values()):
      raise DataError(f"BucketLoader columns have {rows} rows but lengths has "
                      f"{self.num_examples}; every column needs one row per example.")
    self.seq_keys = tuple(seq_keys)
    for k in self.seq_keys:
      if k not in self.columns or self.columns[k].ndim < 2:
        raise ConfigError(f"seq_keys names {k!r}, which is not a column of shape (N, T, ...); "
                          f"columns: {', '.join(sorted(self.columns))}.")
    if self.num_examples and self.lengths.min() < 0:
      raise DataError(f"lengths has a negative value {int(self.lengths.min())}.")
    if self.num_examples and self.lengths.max() > self.boundaries[-1]:
      worst = int(self.lengths.argmax())
      raise DataError(f"Example {worst} has {int(self.lengths[worst])} tokens, more than the "
                      f"last bucket boundary {self.boundaries[-1]}; add a larger boundary or "
                      "truncate the sequences.")
    self.pad_id, self.shuffle, self.seed = pad_id, bool(shuffle), int(seed)
    bucket_of = np.searchsorted(np.asarray(self.boundaries), self.lengths, side="left")
    self.buckets = [np.flatnonzero(bucket_of == b) for b in range(len(self.boundaries))]
    full = [len(b) // self.batch_size for b in self.buckets]
    self.steps_per_epoch = sum(full)
    if self.steps_per_epoch == 0:
      sizes = {bound: len(b) for bound, b in zip(self.boundaries, self.buckets)}
      raise DataError(f"No bucket holds a full batch of {self.batch_size} (examples per bucket "
                      f"bound: {sizes}); lower the batch size or use fewer, wider buckets.")
    self.widths = tuple(bound for bound, n in zip(self.boundaries, full) if n)
    self.dropped_per_epoch = self.num_examples - self.steps_per_epoch * self.batch_size
    self.epoch, self.batch_in_epoch = 0, 0
    self._plan_key, self._plan = None, None

  def _epoch_plan(self, epoch: int) -> list[tuple[int, np.ndarray]]:
    """[(bucket, example rows)] of each batch of `epoch`, in order."""
    if self._plan_key != (self.seed, epoch):
      rng = np.random.default_rng([self.seed, epoch])
      plan = []
      for b, members in enumerate(self.buckets):
        rows = rng.permutation(members) if self.shuffle else members
        n = len(rows) // self.batch_size * self.batch_size
        plan += [(b, rows[i:i + self.batch_size]) for i in range(0, n, self.batch_size)]
      if self.shuffle:
        plan = [plan[i] for i in rng.permutation(len(plan))]
      self._plan_key, self._plan = (self.seed, epoch), plan
    return self._plan

  def _fit(self, x: np.ndarray, width: int) -> np.ndarray:
    if x.shape[1] >= width:
      return np.ascontiguousarray(x[:, :width])
    pad = [(0, 0), (0, width - x.shape[1])] + [(0, 0)] * (x.ndim - 2)
    return np.pad(x, pad, constant_values=self.pad_id)

  def __iter__(self) -> "BucketLoader":
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    epoch, k = self.next_position()
    bucket, rows = self._epoch_plan(epoch)[k]
    width = self.boundaries[bucket]
    batch = {}
    for k, v in self.columns.items():
      x = np.take(v, rows, axis=0)
      batch[k] = self._fit(x, width) if k in self.seq_keys else x
    batch.setdefault("lengths", self.lengths[rows].astype(np.int32))
    if "mask" in batch:
      batch["mask"] = batch["mask"].astype(np.float32)
    else:
      batch["mask"] = np.ones((self.batch_size,), np.float32)
    return batch
