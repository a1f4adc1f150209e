"""One run per workdir: a usable `--workdir` (`prepare_workdir`) and an exclusive lock on it
(`WorkdirLock`), so two launches on the same directory cannot interleave checkpoints.

The lock is `fcntl.flock(LOCK_EX | LOCK_NB)` on `<workdir>/.lock`. The kernel drops it when the
holder exits for any reason (SIGKILL included), so a lock file left behind by a dead process
never blocks; the pid/host/start time written in it only serve the error message.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import json
import logging
import os
import pathlib
import socket
import tempfile

from dlcore.errors import DlcoreError

LOCK_NAME = ".lock"
log = logging.getLogger(__name__)


def _cannot_write(workdir, reason: str) -> DlcoreError:
  return DlcoreError(f"cannot write to --workdir {workdir} ({reason}); choose a writable "
                     f"directory.")


def _reason(e: OSError) -> str:
  return e.strerror or type(e).__name__


def prepare_workdir(workdir: str | os.PathLike) -> pathlib.Path:
  """Create `workdir` (and its parents) and check that files can be written in it.

  DlcoreError when it is a file, or cannot be created or written (checked with os.access and
  an actual write, so it also holds for root and for read-only mounts).
  """
  if not str(workdir):
    raise DlcoreError("--workdir is empty; give a directory, e.g. --workdir runs/digits_mlp.")
  path = pathlib.Path(os.path.expanduser(os.fspath(workdir)))
  if path.exists() and not path.is_dir():
    raise DlcoreError(f"--workdir {workdir} is a file; give a directory.")
  for parent in path.parents:  # a file on the way: mkdir would say "Not a directory"
    if parent.exists() and not parent.is_dir():
      raise DlcoreError(f"--workdir {workdir} is inside {parent}, which is a file; give a "
                        f"directory path.")
  try:
    path.mkdir(parents=True, exist_ok=True)
  except FileExistsError:
    raise DlcoreError(f"--workdir {workdir} is a file; give a directory.") from None
  except OSError as e:
    raise _cannot_write(workdir, _reason(e)) from None
  if not os.access(path, os.W_OK | os.X_OK):
    raise _cannot_write(workdir, os.strerror(errno.EACCES))
  try:
    fd, probe = tempfile.mkstemp(prefix=".write_test_", dir=path)
    os.close(fd)
    os.remove(probe)
  except OSError as e:
    raise _cannot_write(workdir, _reason(e)) from None
  return path


def _holder(text: str) -> str:
  """'process PID on HOST (started ...)' from a lock file's content, best effort."""
  try:
    info = json.loads(text)
    pid, host, started = info["pid"], info["host"], info.get("started", "?")
    return f"process {pid} on {host} (started {started})"
  except (ValueError, KeyError, TypeError):
    return "another process"


class WorkdirLock:
  """`with WorkdirLock(workdir): ...` holds an exclusive lock on `<workdir>/.lock`.

  Entering raises a DlcoreError naming the holder when another live process holds it. Not
  re-entrant: a second lock on the same workdir in the same process also fails.
  """

  def __init__(self, workdir: str | os.PathLike):
    self.workdir = pathlib.Path(os.fspath(workdir))
    self.path = self.workdir / LOCK_NAME
    self._fd: int | None = None

  def acquire(self) -> "WorkdirLock":
    if self._fd is not None:
      raise DlcoreError(f"workdir {self.workdir} is already locked by this WorkdirLock.")
    try:
      self.workdir.mkdir(parents=True, exist_ok=True)
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
      raise _cannot_write(self.workdir, _reason(e)) from None
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      try:
        text = os.read(fd, 4096).decode("utf-8", "replace")
      finally:
        os.close(fd)
      raise DlcoreError(f"workdir {self.workdir} is in use by {_holder(text)}; wait for it to "
                        f"finish or use another --workdir.") from None
    except OSError as e:  # a filesystem without flock (some network mounts): run unlocked
      os.close(fd)
      log.warning("cannot lock %s (%s); not protected against a second launch on it",
                  self.path, _reason(e))
      return self
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
    self._fd = fd
    return self

  def release(self) -> None:
    fd, self._fd = self._fd, None
    if fd is None:
      return
    try:
      os.ftruncate(fd, 0)  # nobody holds it now
    except OSError:
      pass
    finally:
      fcntl.flock(fd, fcntl.LOCK_UN)
      os.close(fd)

  @property
  def held(self) -> bool:
    return self._fd is not None

  def __enter__(self) -> "WorkdirLock":
    return self.acquire()

  def __exit__(self, *exc) -> None:
    self.release()
