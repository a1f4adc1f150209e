"""Batch iterators: seeded shuffled training batches with resumable state, and padded, masked
evaluation batches (every example exactly once).

In-memory arrays are small (MNIST is 47 MB), so one `np.take` gather per batch beats a
per-record pipeline on few cores. A `LazySplit` (`dlcore.data.lazy`, e.g. ImageNet, DS-4) is
read and decoded per batch with one `gather(rows)` (a thread pool; the Prefetcher's thread
overlaps it with the device step), and `eval_batches` reads the next lazy batch while the
current one is in use. Other array-likes are indexed `v[rows]`. Batches are plain numpy dicts
with an extra float32 'mask' key.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Iterator

import numpy as np

from dlcore.data.lazy import LazyColumn, is_lazy
from dlcore.errors import ConfigError, DataError


def _check_arrays(arrays: dict[str, np.ndarray]) -> int:
  if not arrays:
    raise DataError("The loader got no arrays.")
  sizes = {k: int(np.shape(v)[0]) for k, v in arrays.items()}
  if len(set(sizes.values())) != 1:
    raise DataError(f"Loader arrays have different lengths: {sizes}.")
  return next(iter(sizes.values()))


def _rows(arrays: Any, index: Any) -> dict[str, np.ndarray]:
  """{k: rows `index` (int array or slice) of arrays[k]}: one gather for a LazySplit."""
  if is_lazy(arrays):
    return arrays.gather(index)
  if isinstance(index, slice):
    return {k: np.asarray(v[index]) for k, v in arrays.items()}
  return {k: np.take(v, index, axis=0) if isinstance(v, np.ndarray) else np.asarray(v[index])
          for k, v in arrays.items()}


def _check_batch_size(batch_size: int) -> int:
  if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
    raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}.")
  return int(batch_size)


class EpochPosition:
  """The resumable position of an epoch-based batch source: (epoch, batch_in_epoch, seed).

  A subclass sets `steps_per_epoch`, `seed`, `epoch`, `batch_in_epoch` and makes batch k of
  epoch e a pure function of (seed, e, k); `get_state()` / `set_state()` then give a
  JSON-serialisable position from which exactly the batches that would have come next follow.
  `what` names the source in errors, `changed` the settings that would invalidate a position.
  """
  what = "loader"
  changed = "the batch size or dataset"

  def next_position(self) -> tuple[int, int]:
    """(epoch, batch) of the batch to serve now; the position then moves on by one."""
    if self.batch_in_epoch >= self.steps_per_epoch:
      self.epoch, self.batch_in_epoch = self.epoch + 1, 0
    self.batch_in_epoch += 1
    return self.epoch, self.batch_in_epoch - 1

  def get_state(self) -> dict:
    return {"epoch": int(self.epoch), "batch_in_epoch": int(self.batch_in_epoch),
            "seed": int(self.seed)}

  def set_state(self, state: dict) -> None:
    missing = {"epoch", "batch_in_epoch", "seed"} - set(state)
    if missing:
      raise DataError(f"Loader state {state!r} lacks {sorted(missing)}; it is not a "
                      f"{self.what} state.")
    epoch, batch = int(state["epoch"]), int(state["batch_in_epoch"])
    if epoch < 0 or not 0 <= batch <= self.steps_per_epoch:
      raise DataError(f"Loader state {state!r} is out of range for {self.steps_per_epoch} "
                      f"steps per epoch; was {self.changed} changed?")
    self.seed, self.epoch, self.batch_in_epoch = int(state["seed"]), epoch, batch


class TrainLoader(EpochPosition):
  """Infinite iterator of shuffled batches: epoch e uses the permutation
  np.random.default_rng([seed, e]).permutation(N); drop the last partial batch.

  `get_state()` / `set_state()` give a JSON-serialisable position; restoring it yields exactly
  the batches that would have come next. An input 'mask' array (example weights) is gathered
  like the others; otherwise 'mask' is ones.
  """
  what = "TrainLoader"

  def __init__(self, arrays: dict[str, np.ndarray], batch_size: int, seed: int,
               shuffle: bool = True):
    self.num_examples = _check_arrays(arrays)
    self.batch_size = _check_batch_size(batch_size)
    if self.batch_size > self.num_examples:
      raise DataError(f"batch_size {self.batch_size} is larger than the {self.num_examples} "
                      "training examples; lower the batch size.")
    self.arrays = arrays if is_lazy(arrays) else {  # a lazy column stays lazy (v[rows])
        k: v if isinstance(v, LazyColumn) else np.ascontiguousarray(v) for k, v in arrays.items()}
    self.shuffle = bool(shuffle)
    self.steps_per_epoch = self.num_examples // self.batch_size
    self.seed = int(seed)
    self.epoch = 0
    self.batch_in_epoch = 0
    self._perm_epoch, self._perm = None, None

  def _permutation(self, epoch: int) -> np.ndarray:
    if self._perm_epoch != (self.seed, epoch):
      if self.shuffle:
        self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.num_examples)
      else:
        self._perm = np.arange(self.num_examples)
      self._perm_epoch = (self.seed, epoch)
    return self._perm

  def __iter__(self) -> "TrainLoader":
    return self

  def next_indices(self) -> np.ndarray:
    """The rows of the next batch (int32), moving the position on as `next()` does."""
    epoch, k = self.next_position()
    start = k * self.batch_size
    return self._permutation(epoch)[start:start + self.batch_size].astype(np.int32)

  def __next__(self) -> dict[str, np.ndarray]:
    batch = _rows(self.arrays, self.next_indices())
    if "mask" not in batch:
      batch["mask"] = np.ones((self.batch_size,), np.float32)
    return batch


class IndexBatches:
  """A `TrainLoader`'s batches as {'index': rows} (the device-resident path,
  `dlcore.train.resident`): the same batches in the same order, and the loader's own
  get_state / set_state, so a run resumes exactly either way."""

  def __init__(self, loader: TrainLoader):
    self.loader = loader

  def __iter__(self) -> "IndexBatches":
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    return {"index": self.loader.next_indices()}

  def get_state(self) -> dict:
    return self.loader.get_state()

  def set_state(self, state: dict) -> None:
    self.loader.set_state(state)


def num_eval_batches(n: int, batch_size: int) -> int:
  """ceil(n / batch_size)."""
  return -(-int(n) // _check_batch_size(batch_size))


def eval_batches(arrays: dict[str, np.ndarray], batch_size: int) -> Iterator[dict[str, np.ndarray]]:
  """Every example exactly once in order; the last partial batch is zero-padded to batch_size
  and 'mask' is 1.0 for real rows, 0.0 for padding. A lazy split's next batch is read in a
  background thread while the current one is in use."""
  n = _check_arrays(arrays)
  batch_size = _check_batch_size(batch_size)
  starts = range(0, n, batch_size)
  if is_lazy(arrays):
    reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dlcore-eval-read")
    read = lambda s: reader.submit(_rows, arrays, slice(s, min(n, s + batch_size)))
    try:
      pending = read(0) if n else None
      for start in starts:
        chunks = pending.result()
        pending = read(start + batch_size) if start + batch_size < n else None
        yield _pad_and_mask(chunks, n - start, batch_size)
    finally:
      reader.shutdown(wait=False, cancel_futures=True)
    return
  for start in starts:
    yield _pad_and_mask(_rows(arrays, slice(start, start + batch_size)), n - start, batch_size)


def _pad_and_mask(chunks: dict[str, np.ndarray], left: int,
                  batch_size: int) -> dict[str, np.ndarray]:
  """Zero-pads every chunk to batch_size rows and sets 'mask' (1 for real rows, 0 for padding;
  an input 'mask' is multiplied in)."""
  real = min(batch_size, left)
  batch = {}
  for k, chunk in chunks.items():
    if real < batch_size:
      padded = np.zeros((batch_size,) + chunk.shape[1:], chunk.dtype)
      padded[:real] = chunk
      chunk = padded
    batch[k] = chunk
  mask = np.zeros((batch_size,), np.float32)
  mask[:real] = 1.0
  batch["mask"] = batch["mask"].astype(np.float32) * mask if "mask" in batch else mask
  return batch


class EpochSource:
  """Batches of examples that are generated anew each epoch (random walks, skip-gram pairs,
  negative samples), with the same exact `get_state`/`set_state` as `TrainLoader`.

  Epoch e's examples are `generate(np.random.default_rng([seed, e, 1]), e)` (a dict of columns),
  then shuffled with the TrainLoader's permutation of epoch e; restoring a state regenerates
  that epoch's examples, so the batches that come next are exactly those of an uninterrupted
  run. Every epoch must give at least `batch_size` examples.
  """

  def __init__(self, generate, batch_size: int, seed: int, shuffle: bool = True):
    self.generate = generate
    self.batch_size = _check_batch_size(batch_size)
    self.seed, self.shuffle = int(seed), bool(shuffle)
    self._loader = self._epoch_loader(0)
    self.steps_per_epoch = self._loader.steps_per_epoch

  def _epoch_loader(self, epoch: int) -> TrainLoader:
    arrays = self.generate(np.random.default_rng([self.seed, epoch, 1]), epoch)
    loader = TrainLoader(arrays, self.batch_size, self.seed, self.shuffle)
    loader.epoch = epoch
    return loader

  def __iter__(self) -> "EpochSource":
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    if self._loader.batch_in_epoch >= self._loader.steps_per_epoch:
      self._loader = self._epoch_loader(self._loader.epoch + 1)
    return next(self._loader)

  def get_state(self) -> dict:
    return self._loader.get_state()

  def set_state(self, state: dict) -> None:
    self.seed = int(state.get("seed", self.seed))
    loader = self._epoch_loader(int(state.get("epoch", 0)))
    loader.set_state(state)
    self._loader = loader
