"""Background host->device prefetching with exact resume state."""

from __future__ import annotations

import copy
import queue
import threading
from typing import Any, Callable

_END = object()


class _Failure:
  def __init__(self, error: BaseException):
    self.error = error


class Prefetcher:
  """Moves batches to device in a background thread, `size` ahead (default 2).

  put_fn: host batch -> device batch (the trainer passes a jax.device_put with a NamedSharding).
  Tracks the state of `source` (a TrainLoader-like object with get_state) right after each batch
  was produced, so get_state() returns the position after the last batch the CONSUMER received:
  resuming from it replays nothing and skips nothing. Producer exceptions are re-raised in the
  consumer; `close()` (or leaving a `with` block) stops the daemon thread promptly.
  """

  def __init__(self, source: Any, put_fn: Callable[[Any], Any] = lambda b: b, size: int = 2):
    if size < 1:
      raise ValueError(f"Prefetcher size must be >= 1, got {size}")
    self._source = iter(source)
    self._put_fn = put_fn
    self._has_state = hasattr(source, "get_state")
    self._state = self._snapshot(source)
    self._queue: queue.Queue = queue.Queue(maxsize=size)
    self._stop = threading.Event()
    self._done = False
    self._thread = threading.Thread(target=self._produce, args=(source,), daemon=True,
                                    name="dlcore-prefetch")
    self._thread.start()

  def _snapshot(self, source: Any):
    return copy.deepcopy(source.get_state()) if self._has_state else None

  def _offer(self, item: Any) -> bool:
    while not self._stop.is_set():
      try:
        self._queue.put(item, timeout=0.05)
        return True
      except queue.Full:
        continue
    return False

  def _produce(self, source: Any) -> None:
    try:
      while not self._stop.is_set():
        try:
          batch = next(self._source)
        except StopIteration:
          self._offer(_END)
          return
        state = self._snapshot(source)
        if not self._offer((self._put_fn(batch), state)):
          return
    except BaseException as e:  # re-raised in the consumer
      self._offer(_Failure(e))

  def __iter__(self) -> "Prefetcher":
    return self

  def __next__(self) -> Any:
    if self._done:
      raise StopIteration
    item = self._queue.get()
    if item is _END:
      self._done = True
      raise StopIteration
    if isinstance(item, _Failure):
      self._done = True
      raise item.error
    batch, self._state = item
    return batch

  def get_state(self) -> dict | None:
    """The source's state right after the last batch handed to the consumer."""
    return copy.deepcopy(self._state)

  def close(self) -> None:
    self._stop.set()
    while True:
      try:
        self._queue.get_nowait()
      except queue.Empty:
        break
    self._thread.join(timeout=5.0)
    self._done = True

  def __enter__(self) -> "Prefetcher":
    return self

  def __exit__(self, *exc) -> None:
    self.close()
