"""Run assets: small text files a trained state depends on (a vocabulary, a tokenizer), written
into the workdir beside the checkpoints and checked whenever a checkpoint is used again.

`Task.assets = {file name: text}` is what the config builds now. A fresh run writes each file;
a resumed run, `launch.eval` and warm starts need the workdir's copy to be identical: token ids
index the embedding rows of the checkpoint, so a vocabulary built from other data or settings
would silently scramble the model. A mismatch is one DataError naming the file. An asset that
is a JSON object with 'kind' and 'summary' keys (an RL run's environment.json) is described by
them in that error.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Mapping

from dlcore.errors import DataError


def _load(text: str):
  try:
    return json.loads(text)
  except ValueError:
    return None


def _describe(text: str) -> str:
  """'N tokens, fingerprint abcd1234' for a dlcore vocabulary file, the 'summary' of an asset
  that has one, else 'N bytes'."""
  data = _load(text)
  if isinstance(data, dict) and "summary" in data:
    return str(data["summary"])
  try:
    return f"{len(data['tokens'])} tokens, fingerprint {str(data['fingerprint'])[:12]}"
  except (KeyError, TypeError):
    return f"{len(text.encode('utf-8'))} bytes"


def _kind(text: str) -> str:
  data = _load(text)
  if isinstance(data, dict) and "kind" in data:
    return str(data["kind"])
  return "vocabulary or tokenizer"


def _write(path: pathlib.Path, text: str) -> None:
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
  with os.fdopen(fd, "w", encoding="utf-8") as f:
    f.write(text)
  os.replace(tmp, path)


def check_assets(assets: Mapping[str, str], workdir: str | os.PathLike) -> None:
  """DataError when a file of `assets` in `workdir` differs from the text the config builds."""
  workdir = pathlib.Path(workdir)
  for name, text in assets.items():
    path = workdir / name
    if not path.exists():
      continue
    saved = path.read_text(encoding="utf-8")
    if saved != text:
      raise DataError(
          f"{path} ({_describe(saved)}) does not match the one this config builds "
          f"({_describe(text)}): the checkpoint in {workdir} was trained with another "
          f"{_kind(saved)}; use the data and settings it was trained with, or a new workdir.")


def write_assets(assets: Mapping[str, str], workdir: str | os.PathLike, resumed: bool) -> None:
  """A fresh run (re)writes every asset; a resumed one first checks them (`check_assets`)."""
  workdir = pathlib.Path(workdir)
  if resumed:
    check_assets(assets, workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  for name, text in assets.items():
    _write(workdir / name, text)
