"""Shared command-line plumbing: config-override validation and one-line errors.

A `DlcoreError` (or a bad flag) is printed as one line `error: ...` on stderr with exit code 2,
never as a traceback.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pathlib
import sys
from typing import Callable

from absl import app, flags

from dlcore.errors import ConfigError, DlcoreError
from dlcore.registry import closest


def fail(message: str, code: int = 2) -> None:
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.exit(code)


def _config_path(argv: list[str]) -> str | None:
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      return arg.split("=", 1)[1]
    if arg == "--config" and i + 1 < len(argv):
      return argv[i + 1]
  return None


def load_config_file(spec: str):
  """Load `path[:arg]` the way config_flags does: call get_config() (with arg if given)."""
  path, _, arg = spec.partition(":")
  file = pathlib.Path(path)
  if not file.is_file():
    raise ConfigError(f"config file {path} not found; configs live in configs/ "
                      f"(e.g. --config configs/digits_mlp.py).")
  module_spec = importlib.util.spec_from_file_location(f"dlcore_config_{file.stem}", file)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise ConfigError(f"{path} has no get_config() function.")
  return module.get_config(arg) if arg else module.get_config()


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
    spec = _config_path(argv)
    if spec is not None and any(a.startswith("--config.") for a in argv):
      check_override_keys(load_config_file(spec), argv)
    return flags.FLAGS(argv)
  except DlcoreError as e:
    fail(str(e))
  except (flags.Error, AttributeError, KeyError, ValueError, TypeError) as e:
    fail(" ".join(str(e).replace("\\n", " ").split()) or type(e).__name__)
  return []


def quiet_libraries() -> None:
  """Keep the console for dlcore's own lines (orbax and absl are chatty at INFO/WARNING)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  from absl import logging as absl_logging
  absl_logging.set_verbosity(absl_logging.ERROR)
  logging.getLogger("absl").setLevel(logging.ERROR)
  logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def run(main: Callable[[list[str]], None]) -> None:
  """app.run with one-line errors for DlcoreError."""

  def wrapped(argv):
    quiet_libraries()
    if os.environ.get("DLCORE_DISTRIBUTED") == "1":  # multi-host: one process per host
      import jax
      jax.distributed.initialize()
    try:
      main(argv)
    except DlcoreError as e:
      fail(str(e))

  app.run(wrapped, flags_parser=parse_flags)
