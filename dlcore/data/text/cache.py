"""A disk cache for preprocessed text data (token id arrays, vocab token lists), keyed by what
made them: callers put the sha256 of the input files (`file_sha256`) and the tokenizer settings
in `key`, so any change rebuilds.

Files live in `cache_dir`, else $DLCORE_CACHE_DIR, else ~/.cache/dlcore/text, named
`<name>-<first 16 hex of sha256(JSON of key)>.npz|.json`; each stores its key and is used only
when the key matches. Arrays are `.npz` (np.savez's format) without pickles, read with
allow_pickle=False. Writes are atomic (tmp file + os.replace); a corrupt or unreadable cache
file is rebuilt, and a cache dir that cannot be written only costs a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import tempfile
import warnings
import zipfile
from typing import Any, Callable

import numpy as np

from dlcore.errors import DataError

ENV_CACHE_DIR = "DLCORE_CACHE_DIR"
_KEY = "__key__"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def file_sha256(path: str | os.PathLike) -> str:
  """sha256 hex of the file's bytes; DataError if it does not exist."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise DataError(f"Cannot hash {path}: file not found.")
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def cache_root(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
  raw = str(cache_dir or "") or os.environ.get(ENV_CACHE_DIR, "") or "~/.cache/dlcore/text"
  return pathlib.Path(os.path.expanduser(raw))


def _key_json(key: dict) -> str:
  try:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))
  except TypeError as e:
    raise TypeError(f"A cache key must be JSON-serialisable: {e}") from None


def _cache_path(name: str, key_json: str, cache_dir, suffix: str) -> pathlib.Path:
  if not _NAME_RE.fullmatch(name):
    raise ValueError(f"A cache name must be letters, digits, '_', '.' or '-', got {name!r}.")
  digest = hashlib.sha256(key_json.encode("utf-8")).hexdigest()[:16]
  return cache_root(cache_dir) / f"{name}-{digest}{suffix}"


def _write_atomic(path: pathlib.Path, write: Callable[[Any], None]) -> None:
  """write(binary file) into a tmp file beside `path`, then rename; warns if it cannot."""
  tmp = None
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
      write(f)
    os.replace(tmp, path)
  except OSError as e:
    warnings.warn(f"Could not write the cache file {path} ({e}); continuing without it.")
    if tmp and os.path.exists(tmp):
      os.remove(tmp)


def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
  """np.savez's format (any column name allowed, e.g. 'file'), written without pickles."""
  with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
    for k, v in arrays.items():
      with zf.open(k + ".npy", "w", force_zip64=True) as out:
        np.lib.format.write_array(out, v, allow_pickle=False)


def _load_npz(path: pathlib.Path, key_json: str) -> dict[str, np.ndarray] | None:
  try:
    with np.load(path, allow_pickle=False) as z:
      if _KEY not in z.files or str(z[_KEY]) != key_json:
        return None
      return {k: z[k] for k in z.files if k != _KEY}
  except Exception:  # a truncated or corrupt file of any kind: rebuild
    return None


def cached_arrays(name: str, key: dict, build: Callable[[], dict[str, np.ndarray]],
                  cache_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
  """The arrays cached under (name, key), else `build()`'s, which are then cached."""
  key_json = _key_json(key)
  path = _cache_path(name, key_json, cache_dir, ".npz")
  if path.is_file():
    arrays = _load_npz(path, key_json)
    if arrays is not None:
      return arrays
  arrays = {k: np.asarray(v) for k, v in build().items()}
  for k, v in arrays.items():
    if k == _KEY or v.dtype.hasobject:
      raise TypeError(f"cached_arrays({name!r}): array {k!r} is reserved or holds Python "
                      "objects; cache plain numeric arrays (save strings with Vocab.save or "
                      "cached_json).")
  _write_atomic(path, lambda f: _write_npz(f, {_KEY: np.array(key_json), **arrays}))
  return arrays


def cached_json(name: str, key: dict, build: Callable[[], Any],
                cache_dir: str | os.PathLike | None = None) -> Any:
  """The JSON value cached under (name, key), else `build()`'s (e.g. a vocab token list)."""
  key_json = _key_json(key)
  path = _cache_path(name, key_json, cache_dir, ".json")
  if path.is_file():
    try:
      stored = json.loads(path.read_text(encoding="utf-8"))
      if isinstance(stored, dict) and _key_json(stored.get("key")) == key_json:
        return stored["value"]
    except (OSError, ValueError, KeyError, TypeError):
      pass
  text = json.dumps({"key": key, "value": build()}, ensure_ascii=False)
  _write_atomic(path, lambda f: f.write(text.encode("utf-8")))
  return json.loads(text)["value"]  # as a later load gives it (tuples become lists)
