"""One long token sequence (a corpus) as batches for truncated BPTT (LAY-43), and as the
chunks that score every token of a split.

Training (`TokenStream`): epoch e starts at an offset o_e in [0, L) drawn from
np.random.default_rng([seed, e]) (so chunk boundaries move between epochs); the ids
x[o_e : o_e + B·R + 1] are cut into B contiguous rows of R tokens, and batch k of the epoch is
columns [kL, (k+1)L) of every row: inputs x_t and targets x_{t+1}. Row b of batch k+1 continues
row b of batch k, so a model keeps its final recurrent state as the next batch's initial state;
`reset` is 1 on an epoch's first batch, where that state restarts from zero. The position
(epoch, batch) saves and restores exactly, like `dlcore.data.loader.TrainLoader`.
With `shuffle` (for models that carry no state, such as a Transformer), the B·(R // L) windows
of L tokens of the epoch are dealt out in a random order (np.random.default_rng([seed, e, 1])):
each batch holds B windows from anywhere in the text, every window once an epoch, and `reset`
is 1 on every batch.

Evaluation (`stream_chunks`): every token after the first is a target exactly once: the split
is cut into B rows (the last one padded, mask 0), processed in chunks of L with the state
carried across chunks, so NLL sums over every real token.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from dlcore.data.loader import EpochPosition
from dlcore.errors import ConfigError, DataError


class TokenStream(EpochPosition):
  what = "TokenStream"
  changed = "the batch size, seq_len or text"

  def __init__(self, ids: np.ndarray, batch_size: int, seq_len: int, seed: int,
               random_offset: bool = True, shuffle: bool = False):
    ids = np.asarray(ids, np.int32).reshape(-1)
    if int(batch_size) < 1 or int(seq_len) < 1:
      raise ConfigError(f"batch_size and seq_len must be >= 1, got {batch_size} and {seq_len}.")
    self.ids, self.batch_size, self.seq_len = ids, int(batch_size), int(seq_len)
    self.seed, self.random_offset, self.shuffle = int(seed), bool(random_offset), bool(shuffle)
    self.row_len = (len(ids) - self.seq_len) // self.batch_size  # room for any offset < L
    self.steps_per_epoch = self.row_len // self.seq_len
    if self.steps_per_epoch < 1:
      raise DataError(f"the training text has {len(ids)} tokens: too few for one batch of "
                      f"{self.batch_size} rows x {self.seq_len} steps; lower train.batch_size or "
                      f"data.seq_len.")
    self.epoch, self.batch_in_epoch = 0, 0
    self._rows_epoch, self._rows = None, None

  def _epoch_rows(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    if self._rows_epoch != (self.seed, epoch):
      offset = (int(np.random.default_rng([self.seed, epoch]).integers(self.seq_len))
                if self.random_offset else 0)
      n = self.batch_size * self.row_len
      chunk = self.ids[offset:offset + n + 1]
      self._rows = (chunk[:-1].reshape(self.batch_size, self.row_len),
                    chunk[1:].reshape(self.batch_size, self.row_len))
      self._rows_epoch = (self.seed, epoch)
    return self._rows

  def __iter__(self) -> "TokenStream":
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    epoch, k = self.next_position()
    inputs, targets = self._epoch_rows(epoch)
    if self.shuffle:
      b, length = self.batch_size, self.seq_len
      order = np.random.default_rng([self.seed, epoch, 1]).permutation(b * self.steps_per_epoch)
      rows, cols = np.divmod(order[k * b:(k + 1) * b], self.steps_per_epoch)
      cols = cols[:, None] * length + np.arange(length)[None]
      return {"inputs": inputs[rows[:, None], cols], "targets": targets[rows[:, None], cols],
              "reset": np.ones((b,), np.float32), "mask": np.ones((b,), np.float32)}
    cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
    return {"inputs": inputs[:, cols], "targets": targets[:, cols],
            "reset": np.full((self.batch_size,), float(k == 0), np.float32),
            "mask": np.ones((self.batch_size,), np.float32)}


def stream_chunks(ids: np.ndarray, batch_size: int, seq_len: int
                  ) -> Iterator[dict[str, np.ndarray]]:
  """Chunks {inputs, targets, weight (B, L)} covering every target x_1..x_{n-1} of `ids` once:
  B rows of ceil((n-1)/B) positions, in chunks of L (the last one and the last row padded with
  weight 0). A model carries its state from one chunk to the next."""
  ids = np.asarray(ids, np.int32).reshape(-1)
  n = len(ids) - 1
  if n < 1:
    raise DataError("the evaluation text has fewer than 2 tokens: nothing to score.")
  row = -(-n // batch_size)
  width = -(-row // seq_len) * seq_len
  inputs = np.zeros((batch_size * width,), np.int32)
  targets = np.zeros_like(inputs)
  weight = np.zeros((batch_size * width,), np.float32)
  for b in range(batch_size):  # row b: targets b*row+1 .. (b+1)*row
    lo, hi = b * row, min((b + 1) * row, n)
    if hi > lo:
      inputs[b * width:b * width + hi - lo] = ids[lo:hi]
      targets[b * width:b * width + hi - lo] = ids[lo + 1:hi + 1]
      weight[b * width:b * width + hi - lo] = 1.0
  inputs, targets, weight = (a.reshape(batch_size, width) for a in (inputs, targets, weight))
  for start in range(0, width, seq_len):
    cols = slice(start, start + seq_len)
    yield {"inputs": inputs[:, cols], "targets": targets[:, cols], "weight": weight[:, cols]}
