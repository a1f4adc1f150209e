"""SIGTERM / SIGINT: finish the current step, save a checkpoint, exit cleanly.

In a run of several processes the signal reaches each host at a slightly different moment, but
the checkpoint save is collective: `agreed_stop` makes every process stop at the same step, the
first log step at which any of them has the signal (a process that stopped alone would wait in
the save for the others, which wait in the next step's collectives).
"""

from __future__ import annotations

import contextlib
import signal
import threading

import jax
import numpy as np


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


def agreed_stop(request: StopRequest, at_log_step: bool) -> bool:
  """Whether to stop now: the signal of this process (one process), or at a log step whether
  any process has one (several processes; module docstring)."""
  if jax.process_count() == 1:
    return request.requested
  if not at_log_step:
    return False
  from jax.experimental import multihost_utils
  votes = multihost_utils.process_allgather(np.int32(request.requested))
  if np.max(votes) and not request.requested:
    request.signal_name = "SIGTERM (on another process)"
  return bool(np.max(votes))
