"""Lazy, random-access dataset splits (curriculum DS-4: ImageNet does not fit in memory).

A `LazySplit` is a split (`{'inputs': ..., 'label': ...}` mapping) over a random-access record
source: anything with `__len__` and `__getitem__(int)` (and optionally `__getitems__(list)`)
returning records, e.g. `tfds.data_source(...)`. Each column has a `Column(shape, dtype, decode)`
whose `decode(record) -> row` is deterministic (random augmentation stays on device), so the
loader's exact resume state is unchanged.

| access                   | reads and decodes                                                  |
|--------------------------|--------------------------------------------------------------------|
| split.gather(rows)       | only `rows`, every column from one read of each record             |
| split[col][i]            | row i of that column only (also [slice], [int array], [bool mask]) |
| split.take(rows)         | nothing: a sub-split view (rows re-indexed), e.g. a carved val set |
| np.asarray(split[col])   | every row of that column, if at most MAX_ARRAY_BYTES, else error  |

Reads and decodes run in a pool of `num_workers` threads, each on a contiguous share of the
requested rows (PIL's JPEG decode and resize release the GIL); results keep the request order.
Reading one column skips the others' decoders: ImageNet's labels cost a read, not a JPEG decode.
"""

from __future__ import annotations

import collections.abc
import concurrent.futures
import threading
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import numpy as np

from dlcore.errors import DataError

MAX_ARRAY_BYTES = 2**30  # np.asarray(column) beyond this is a DataError (ImageNet val: 9.8 GB)


class Column(NamedTuple):
  """One column of a `LazySplit`: the row shape and dtype, and `decode(record) -> row`."""
  shape: tuple[int, ...]
  dtype: Any
  decode: Callable[[Any], Any]


class _Pool:
  """A thread pool created on first use and shared by a split and its `take` views."""

  def __init__(self, num_workers: int):
    self.num_workers = max(1, int(num_workers))
    self._executor: concurrent.futures.ThreadPoolExecutor | None = None
    self._lock = threading.Lock()

  def map(self, fn: Callable, items: Sequence) -> list:
    if self.num_workers == 1 or len(items) <= 1:
      return [fn(item) for item in items]
    with self._lock:
      if self._executor is None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            self.num_workers, thread_name_prefix="dlcore-decode")
    return list(self._executor.map(fn, items))


def _read(source: Any, rows: Sequence[int]) -> Sequence[Any]:
  if hasattr(source, "__getitems__"):
    return source.__getitems__(list(rows))
  return [source[i] for i in rows]


class LazySplit(collections.abc.Mapping):
  """A split whose columns are decoded on demand from `source` (see the module docstring).

  columns: {name: Column(row shape, dtype, decode)}, in batch order ('inputs', 'label'). `rows`
  (optional int array) maps this split's row i to source row rows[i] (a `take` view). `name`
  labels errors. Mapping access gives `LazyColumn`s; `num_rows` (not `len`, which counts
  columns) is the number of examples.
  """

  def __init__(self, source: Any, columns: dict[str, Column], num_workers: int = 16,
               rows: np.ndarray | None = None, name: str = "split", pool: _Pool | None = None):
    self.source, self.name = source, name
    self.columns = {k: Column(tuple(int(d) for d in c.shape), np.dtype(c.dtype), c.decode)
                    for k, c in columns.items()}
    self.rows = None if rows is None else np.asarray(rows, np.int64)
    self.num_rows = len(source) if self.rows is None else int(self.rows.shape[0])
    self._pool = pool or _Pool(num_workers)

  # Mapping protocol: column name -> LazyColumn
  def __getitem__(self, key: str) -> LazyColumn:
    if key not in self.columns:
      raise KeyError(key)
    return LazyColumn(self, key)

  def __iter__(self) -> Iterator[str]:
    return iter(self.columns)

  def __len__(self) -> int:
    return len(self.columns)

  def __repr__(self) -> str:
    return f"LazySplit({self.name!r}, rows={self.num_rows}, columns={list(self.columns)})"

  def _positions(self, index: Any) -> np.ndarray:
    """This split's row numbers for an int, slice, int array or bool mask (numpy semantics)."""
    if isinstance(index, slice):
      return np.arange(self.num_rows)[index]
    rows = np.asarray(index)
    if rows.dtype == bool:
      if rows.shape != (self.num_rows,):
        raise IndexError(f"boolean index of shape {rows.shape} for {self.num_rows} rows")
      return np.flatnonzero(rows)
    if rows.ndim > 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
      raise IndexError(f"{self.name}: index rows with an int, a slice or a 1-D int array, "
                       f"got {index!r}")
    rows = rows.astype(np.int64).reshape(-1)
    if rows.size and (rows.min() < -self.num_rows or rows.max() >= self.num_rows):
      raise IndexError(f"row index out of range for {self.num_rows} rows of {self.name}")
    return np.where(rows < 0, rows + self.num_rows, rows)

  def gather(self, index: Any, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """{column: array[len(rows), *shape]} of the requested rows (and columns, default all), in
    request order; each record is read once, in parallel shares over the thread pool."""
    positions = self._positions(index)
    source_rows = positions if self.rows is None else self.rows[positions]
    n = int(source_rows.shape[0])
    columns = {k: self.columns[k] for k in (self.columns if keys is None else keys)}
    out = {k: np.empty((n, *c.shape), c.dtype) for k, c in columns.items()}
    shares = np.array_split(np.arange(n), min(n, self._pool.num_workers)) if n else []

    def fill(share: np.ndarray) -> None:
      records = _read(self.source, [int(r) for r in source_rows[share]])
      for pos, row, record in zip(share, source_rows[share], records):
        for k, column in columns.items():
          try:
            out[k][pos] = column.decode(record)
          except Exception as e:  # a corrupt record: name it
            raise DataError(f"Could not decode {k!r} of record {int(row)} of {self.name} "
                            f"({type(e).__name__}: {e}); check or re-prepare the "
                            "dataset.") from e

    self._pool.map(fill, shares)
    return out

  def take(self, index: Any) -> LazySplit:
    """A view of the given rows (nothing is read): row i of the view is row index[i] here."""
    positions = self._positions(index)
    rows = positions if self.rows is None else self.rows[positions]
    return LazySplit(self.source, self.columns, rows=rows, name=self.name, pool=self._pool)


class LazyColumn:
  """One column of a `LazySplit`, array-like: len(), .shape, .dtype, .ndim, and [int], [slice],
  [int array], [bool mask] return decoded numpy rows (only those rows, only this column)."""

  def __init__(self, split: LazySplit, key: str):
    self.split, self.key = split, key
    column = split.columns[key]
    self.dtype = column.dtype
    self.shape = (split.num_rows, *column.shape)
    self.ndim = len(self.shape)
    self.nbytes = int(np.prod(self.shape)) * self.dtype.itemsize

  def __len__(self) -> int:
    return self.shape[0]

  def __getitem__(self, index: Any) -> np.ndarray:
    if isinstance(index, (int, np.integer)):
      return self.split.gather([int(index)], [self.key])[self.key][0]
    if isinstance(index, tuple):
      raise IndexError(f"LazyColumn {self.key!r} takes one row index (int, slice or 1-D "
                       f"array), not {index!r}; index the returned array further.")
    return self.split.gather(index, [self.key])[self.key]

  def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
    if self.nbytes > MAX_ARRAY_BYTES:
      raise DataError(f"Column {self.key!r} of {self.split.name} is lazy and would take "
                      f"{self.nbytes / 1e9:.1f} GB as one array; index the rows you need "
                      "([rows]) instead of converting the whole column.")
    values = self[:]
    return values if dtype is None else values.astype(dtype)

  def __repr__(self) -> str:
    return f"LazyColumn({self.key!r}, shape={self.shape}, dtype={self.dtype})"


def is_lazy(arrays: Any) -> bool:
  """True for a `LazySplit` (batches should come from `gather`, not per-column gathers)."""
  return isinstance(arrays, LazySplit)


def take_rows(split: Any, index: np.ndarray) -> Any:
  """The rows `index` of a split: a `LazySplit.take` view, or np.take of every array."""
  if is_lazy(split):
    return split.take(index)
  return {k: np.take(v, index, axis=0) for k, v in split.items()}
