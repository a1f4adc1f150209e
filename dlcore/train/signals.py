"""SIGTERM / SIGINT: finish the current step, save a checkpoint, exit cleanly."""

from __future__ import annotations

import contextlib
import signal
import threading


class StopRequest:
  def __init__(self):
    self.signal_name: str | None = None

  @property
  def requested(self) -> bool:
    return self.signal_name is not None


@contextlib.contextmanager
def stop_on_signals(signals=(signal.SIGTERM, signal.SIGINT)):
  """Within the block, the signals set `request.signal_name` instead of killing the process."""
  request = StopRequest()
  if threading.current_thread() is not threading.main_thread():
    yield request
    return

  def handler(signum, frame):
    if request.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt  # a second Ctrl-C aborts at once
    request.signal_name = signal.Signals(signum).name

  previous = {s: signal.signal(s, handler) for s in signals}
  try:
    yield request
  finally:
    for s, h in previous.items():
      signal.signal(s, h)
