"""Loading configs: `configs/<name>.py[:arg]` files, a run's `config.json`, and `cfg_get`.

A leaf module (imports only dlcore.errors, ml_collections and the standard library). Every
problem a user can fix is one `ConfigError` sentence naming the file and the way out.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import json
import os
import pathlib
import sys
from typing import Any

import ml_collections

from dlcore.errors import ConfigError, DlcoreError, first_line

# The repository root: the directory holding the `dlcore` package (and `configs/`).
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS_DIR_NAME = "configs"
EXAMPLE = "--config configs/digits_mlp.py"


class ConfigValueError(ConfigError, ValueError):
  """get_config() raised a ValueError (e.g. an unknown variant argument): a ConfigError that is
  still a ValueError, so callers (and tests) that caught the file's ValueError keep working."""


def cfg_get(cfg: Any, key: str, default: Any = None) -> Any:
  """`cfg.get(key, default)` for ConfigDicts and dicts; None counts as unset (and a None `cfg`,
  a missing sub-config, gives `default`)."""
  value = cfg.get(key, default) if cfg is not None else default
  return default if value is None else value


def _available_configs() -> list[str]:
  folder = REPO_ROOT / CONFIGS_DIR_NAME
  if not folder.is_dir():
    return []
  return sorted(p.name for p in folder.glob("*.py") if not p.name.startswith("_"))


def resolve_config_path(path: str) -> pathlib.Path:
  """The config file `path`: as given (relative to the working directory), else relative to
  the repository root. ConfigError when it is missing or a directory."""
  if not path:
    raise ConfigError(f"--config is empty; give a config file, e.g. {EXAMPLE}.")
  given = pathlib.Path(os.path.expanduser(path))
  candidates = [given] if given.is_absolute() else [given, REPO_ROOT / given]
  for candidate in candidates:
    if candidate.is_file():
      return candidate.resolve()
  for candidate in candidates:
    if candidate.is_dir():
      names = sorted(p.name for p in candidate.glob("*.py") if not p.name.startswith("_"))
      name = "digits_mlp.py" if "digits_mlp.py" in names else (names[0] if names else "")
      example = f" (e.g. --config {os.path.join(path, name)})" if name else ""
      raise ConfigError(f"--config {path} is a directory; give one config file in it"
                        f"{example}.")
  available = _available_configs()
  hint = difflib.get_close_matches(given.name, available, n=1, cutoff=0.6)
  did = f" Did you mean configs/{hint[0]}?" if hint else ""
  looked = " and ".join(dict.fromkeys(os.path.normpath(os.path.join(os.getcwd(), c.parent))
                                      for c in candidates))
  raise ConfigError(f"config file {path} not found (looked in {looked}).{did} Configs live in "
                    f"{REPO_ROOT / CONFIGS_DIR_NAME}/ (e.g. {EXAMPLE}).")


def configs_root(file: pathlib.Path) -> pathlib.Path | None:
  """The directory that contains the `configs/` folder holding `file` (its nearest ancestor
  named `configs`), or None when `file` is not inside a `configs` folder."""
  for parent in pathlib.Path(file).resolve().parents:
    if parent.name == CONFIGS_DIR_NAME:
      return parent.parent
  return None


def add_configs_root_to_path(file: pathlib.Path) -> None:
  """Put the directory containing `file`'s `configs/` folder first on sys.path, so a config can
  `from configs.defaults import ...` (no-op when it is already there or there is none)."""
  root = configs_root(file)
  if root is not None and str(root) not in sys.path:
    sys.path.insert(0, str(root))


def _call_get_config(module, path: str, arg: str | None):
  get_config = getattr(module, "get_config", None)
  if get_config is None or not callable(get_config):
    raise ConfigError(f"config file {path} has no get_config() function; define get_config() "
                      f"returning an ml_collections.ConfigDict.")
  if arg is not None:
    try:
      inspect.signature(get_config).bind(arg)
    except TypeError:
      raise ConfigError(f"get_config() in {path} takes no argument but --config {path}:{arg} "
                        f"passes {arg!r}; drop ':{arg}'.") from None
    except ValueError:  # no signature (a builtin): just call it
      pass
  try:
    return get_config(arg) if arg is not None else get_config()
  except DlcoreError:
    raise
  except Exception as e:  # noqa: BLE001  (a user's config code: any error becomes one line)
    first = first_line(e, limit=None)
    error = ConfigValueError if isinstance(e, ValueError) else ConfigError
    raise error(f"get_config() in {path} raised {type(e).__name__}"
                f"{': ' + first if first else ''}; fix the config file"
                f"{' or its argument' if arg is not None else ''}.") from None


def load_config_file(spec: str) -> ml_collections.ConfigDict:
  """Load `path[:arg]` the way config_flags does: execute the file and call get_config() (with
  `arg` when given). `path` is relative to the working directory, else to the repo root.

  Before the file runs, the directory containing its `configs/` folder goes on sys.path.
  Every failure (missing file, a directory, a syntax error, get_config() raising or returning
  something that is not a ConfigDict) is one ConfigError sentence.
  """
  path, sep, arg = str(spec).partition(":")
  file = resolve_config_path(path)
  add_configs_root_to_path(file)
  module_spec = importlib.util.spec_from_file_location(f"dlcore_config_{file.stem}", file)
  if module_spec is None or module_spec.loader is None:
    raise ConfigError(f"config file {path} is not a Python file; give a configs/<name>.py file.")
  module = importlib.util.module_from_spec(module_spec)
  sys.modules[module_spec.name] = module  # dataclasses & co. look their module up there
  try:
    module_spec.loader.exec_module(module)
  except SyntaxError as e:
    sys.modules.pop(module_spec.name, None)
    where = f"line {e.lineno}" if e.lineno else "somewhere"
    if e.filename and pathlib.Path(e.filename).resolve() != file:  # in a module it imports
      where = f"{where} of {e.filename}"
    raise ConfigError(f"config file {path} has a syntax error at {where}: {e.msg}; "
                      f"fix the file.") from None
  except DlcoreError:
    sys.modules.pop(module_spec.name, None)
    raise
  except Exception as e:  # noqa: BLE001  (e.g. an ImportError in the user's config)
    sys.modules.pop(module_spec.name, None)
    first = first_line(e, limit=None)
    raise ConfigError(f"config file {path} failed to load: {type(e).__name__}"
                      f"{': ' + first if first else ''}; fix the file.") from None
  config = _call_get_config(module, path, arg if sep else None)
  if not isinstance(config, ml_collections.ConfigDict):
    what = "None" if config is None else f"a {type(config).__name__}"
    hint = " (did you forget `return config`?)" if config is None else ""
    raise ConfigError(f"get_config() in {path} returned {what}{hint}; it must return an "
                      f"ml_collections.ConfigDict.")
  return config


def load_config_json(workdir: str | os.PathLike) -> ml_collections.ConfigDict:
  """The config of the latest launch on `workdir` (`<workdir>/config.json`, written by
  launch.train). ConfigError when it is missing, unreadable or not a JSON object."""
  path = pathlib.Path(workdir) / "config.json"
  if not pathlib.Path(workdir).is_dir():
    raise ConfigError(f"--workdir {workdir} is not a directory; give the --workdir of a dlcore "
                      f"training run.")
  if not path.is_file():
    raise ConfigError(f"{path} not found: is {workdir} the --workdir of a dlcore training run?")
  try:
    raw = path.read_bytes()
  except OSError as e:
    raise ConfigError(f"cannot read {path} ({e.strerror or type(e).__name__}); fix its "
                      f"permissions.") from None
  try:
    data = json.loads(raw.decode("utf-8"))
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    where = f" (line {e.lineno}: {e.msg})" if isinstance(e, json.JSONDecodeError) else ""
    raise ConfigError(f"{path} is not valid JSON{where}; restore it, or rerun launch.train on "
                      f"{workdir}, which rewrites it.") from None
  if not isinstance(data, dict):
    raise ConfigError(f"{path} holds a JSON {type(data).__name__}, not a config object; "
                      f"restore it, or rerun launch.train on {workdir}, which rewrites it.")
  return ml_collections.ConfigDict(data)


__all__ = ["REPO_ROOT", "ConfigValueError", "add_configs_root_to_path", "cfg_get", "configs_root",
           "load_config_file", "load_config_json", "resolve_config_path"]
