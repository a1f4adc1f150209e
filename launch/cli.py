"""Shared command-line plumbing: config loading and override validation, the workdir lock, and
one-line errors.

A `DlcoreError` (or a bad flag) is printed as one line `error: ...` on stderr with exit code 2,
never as a traceback. `parse_flags` always pre-loads the `--config` file (`dlcore.config`), so a
missing, broken or None-returning config is such a line too; `hold_workdir` gives one launch at
a time on a workdir.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import sys
from typing import Callable, Iterator

from absl import app, flags

from dlcore.config import load_config_file, resolve_config_path  # noqa: F401  (re-exported)
from dlcore.errors import ConfigError, DlcoreError
from dlcore.registry import closest


def fail(message: str, code: int = 2) -> None:
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.exit(code)


def _config_arg_index(argv: list[str]) -> tuple[int, str] | None:
  """(index in argv, value) of the --config flag (`--config=SPEC` or `--config SPEC`)."""
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      return i, arg.split("=", 1)[1]
    if arg == "--config" and i + 1 < len(argv):
      return i + 1, argv[i + 1]
  return None


def _config_path(argv: list[str]) -> str | None:
  found = _config_arg_index(argv)
  return found[1] if found else None


def _with_resolved_config(argv: list[str], index: int, spec: str) -> list[str]:
  """argv with the --config path made absolute (config_flags only looks relative to the cwd;
  `load_config_file` also finds `configs/x.py` relative to the repo)."""
  path, sep, arg = spec.partition(":")
  resolved = f"{resolve_config_path(path)}{sep}{arg}"
  if resolved == spec:
    return argv
  argv = list(argv)
  argv[index] = f"--config={resolved}" if argv[index].startswith("--config=") else resolved
  return argv


def check_override_keys(config, argv: list[str]) -> None:
  """Reject `--config.a.b=...` when `a.b` is not a key of the config, suggesting close keys."""
  for arg in argv:
    if not arg.startswith("--config."):
      continue
    dotted = arg[len("--config."):].split("=", 1)[0]
    node, walked = config, []
    for key in dotted.split("."):
      keys = list(node.keys()) if hasattr(node, "keys") else []
      if key not in keys:
        where = "config." + ".".join(walked) if walked else "config"
        hint = closest(key, keys)
        did = f" Did you mean '{'.'.join(walked + [hint[0]])}'?" if hint else ""
        raise ConfigError(f"unknown config key '{dotted}'.{did} Valid keys in {where}: "
                          f"{', '.join(sorted(keys))}.")
      node, walked = node[key], walked + [key]


def parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing with override keys validated first and errors made one line."""
  try:
    found = _config_arg_index(argv) if "config" in flags.FLAGS else None
    if found is not None:
      # Always load the file first (this also puts the folder holding configs/ on sys.path for
      # config_flags' own load below): any problem with it is one line, not a traceback.
      index, spec = found
      config = load_config_file(spec)
      check_override_keys(config, argv)
      argv = _with_resolved_config(argv, index, spec)
    return flags.FLAGS(argv)
  except DlcoreError as e:
    fail(str(e))
  except (flags.Error, AttributeError, KeyError, ValueError, TypeError) as e:
    fail(" ".join(str(e).replace("\\n", " ").split()) or type(e).__name__)
  return []


@contextlib.contextmanager
def hold_workdir(workdir: str | os.PathLike) -> Iterator[pathlib.Path]:
  """`with hold_workdir(workdir) as path:` creates the workdir (one-line errors when it is a
  file or not writable) and holds its lock for the block, so a second launch on the same
  workdir fails at once naming the first one's pid. In a multi-host run
  (DLCORE_DISTRIBUTED=1) only process 0 takes the lock (all hosts share the workdir)."""
  from dlcore.train.workdir import WorkdirLock, prepare_workdir
  path = prepare_workdir(workdir)
  if os.environ.get("DLCORE_DISTRIBUTED") == "1":
    import jax
    if jax.process_index() != 0:
      yield path
      return
  with WorkdirLock(path):
    yield path


def quiet_libraries() -> None:
  """Keep the console for dlcore's own lines (orbax and absl are chatty at INFO/WARNING)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  from absl import logging as absl_logging
  absl_logging.set_verbosity(absl_logging.ERROR)
  logging.getLogger("absl").setLevel(logging.ERROR)
  logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def initialize_distributed() -> None:
  """`jax.distributed.initialize`: from DLCORE_COORDINATOR (host:port), DLCORE_NUM_PROCESSES and
  DLCORE_PROCESS_ID when set (`launch.multiprocess` on one machine), else auto-detected (Slurm,
  TPU VMs, ...)."""
  import jax
  coordinator = os.environ.get("DLCORE_COORDINATOR")
  if not coordinator:
    jax.distributed.initialize()
    return
  try:
    count, index = int(os.environ["DLCORE_NUM_PROCESSES"]), int(os.environ["DLCORE_PROCESS_ID"])
  except (KeyError, ValueError):
    fail("DLCORE_COORDINATOR is set, so DLCORE_NUM_PROCESSES and DLCORE_PROCESS_ID must be "
         "integers (launch.multiprocess sets all three).")
  jax.distributed.initialize(coordinator, count, index)


def run(main: Callable[[list[str]], None]) -> None:
  """app.run with one-line errors for DlcoreError."""

  def wrapped(argv):
    quiet_libraries()
    if os.environ.get("DLCORE_DISTRIBUTED") == "1":  # several processes: one per host
      initialize_distributed()
    try:
      main(argv)
    except DlcoreError as e:
      fail(str(e))

  app.run(wrapped, flags_parser=parse_flags)
