"""Readers of the text corpora in the shared data dir: SST-2 (GLUE TSV), Tiny Shakespeare and
Multi30k (gzip, line-aligned), each with a DataError naming the file for a missing, empty or
malformed one. `data_dir` is the folder holding sst2/, tinyshakespeare/ and multi30k/ (e.g.
`dlcore.data.resolve_data_dir(config.data)`).

SST-2's test split is unlabelled: `read_sst2(d, "test")` returns its sentences with labels -1.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import zlib

import numpy as np

from dlcore.errors import ConfigError, DataError, first_line

SST2_SPLITS = ("train", "dev", "test")
SST2_HEADERS = {"train": ("sentence", "label"), "dev": ("sentence", "label"),
                "test": ("index", "sentence")}
MULTI30K_SPLITS = ("train", "val", "test_2016_flickr")

def _path(data_dir: str | os.PathLike, *parts: str) -> pathlib.Path:
  return pathlib.Path(os.path.expanduser(str(data_dir))).joinpath(*parts)


def _require(path: pathlib.Path, what: str, folder: str = "") -> pathlib.Path:
  """`path` if it is a file; else a DataError (with the data-dir hint when under `folder`/)."""
  if not path.is_file():
    hint = (f"; set data.data_dir or DLCORE_DATA_DIR to the folder that holds {folder}/"
            if folder else "")
    raise DataError(f"{what} not found: expected {path}{hint}.")
  return path


def _decode(raw: bytes, path: pathlib.Path) -> str:
  try:
    text = raw.decode("utf-8")
  except UnicodeDecodeError as e:
    raise DataError(f"{path} is not UTF-8 text (bad byte at offset {e.start}); re-save it as "
                    "UTF-8.") from None
  if not text.strip():
    raise DataError(f"{path} has no text.")
  return text


def _lines(text: str) -> list[str]:
  """Lines split on '\\n' only (not on the other Unicode breaks), '\\r' stripped."""
  lines = text.split("\n")
  if lines and lines[-1] == "":
    lines.pop()
  return [line.rstrip("\r") for line in lines]


def read_text(path: str | os.PathLike, what: str = "Text file", folder: str = "") -> str:
  """The whole UTF-8 file; DataError if missing, not UTF-8 or empty."""
  path = _require(pathlib.Path(os.path.expanduser(str(path))), what, folder)
  return _decode(path.read_bytes(), path)


def read_tiny_shakespeare(data_dir: str | os.PathLike) -> str:
  """tinyshakespeare/input.txt (1,115,394 characters)."""
  return read_text(_path(data_dir, "tinyshakespeare", "input.txt"), "Tiny Shakespeare",
                   "tinyshakespeare")


def split_text(text: str, train_fraction: float = 0.9) -> tuple[str, str]:
  """The contiguous split: the first int(len * train_fraction) characters, then the rest."""
  if isinstance(train_fraction, bool) or not 0.0 < float(train_fraction) < 1.0:
    raise ConfigError(f"train_fraction must be a float in (0, 1), got {train_fraction!r}.")
  cut = int(len(text) * float(train_fraction))
  return text[:cut], text[cut:]


def read_sst2(data_dir: str | os.PathLike, split: str) -> tuple[list[str], np.ndarray]:
  """(sentences, labels int32 0/1) of sst2/{split}.tsv; sentences are stripped of the trailing
  space. split 'test' (unlabelled, `index\\tsentence`) gives labels of -1."""
  if split not in SST2_SPLITS:
    raise ConfigError(f"Unknown SST-2 split {split!r}; valid splits: {', '.join(SST2_SPLITS)}.")
  path = _require(_path(data_dir, "sst2", f"{split}.tsv"), f"SST-2 {split} split", "sst2")
  lines = _lines(_decode(path.read_bytes(), path))
  header = SST2_HEADERS[split]
  if tuple(lines[0].split("\t")) != header:
    expected = "\\t".join(header)
    raise DataError(f"{path} line 1 is {lines[0][:60]!r}, not the GLUE header '{expected}'; is "
                    f"it the SST-2 {split} TSV?")
  if len(lines) == 1:
    raise DataError(f"{path} has no text.")
  text_col = header.index("sentence")
  sentences, labels = [], np.full((len(lines) - 1,), -1, np.int32)
  for n, line in enumerate(lines[1:]):
    cols = line.split("\t")
    if len(cols) != 2:
      raise DataError(f"{path} line {n + 2} has {len(cols)} tab-separated columns, not 2 "
                      f"({' and '.join(header)}).")
    sentences.append(cols[text_col].strip())
    if split != "test":
      if cols[1].strip() not in ("0", "1"):
        raise DataError(f"{path} line {n + 2} has label {cols[1][:20]!r}, not 0 or 1.")
      labels[n] = int(cols[1])
  return sentences, labels


def _read_gzip_lines(path: pathlib.Path) -> list[str]:
  try:
    with gzip.open(path, "rb") as f:
      raw = f.read()
  except (OSError, EOFError, zlib.error) as e:
    raise DataError(f"{path} is not a valid gzip file ({first_line(e)}); download it "
                    "again.") from None
  return _lines(_decode(raw, path))


def read_parallel(data_dir: str | os.PathLike, split: str, src: str = "de",
                  tgt: str = "en") -> tuple[list[str], list[str]]:
  """(source lines, target lines) of multi30k/{split}.{src,tgt}.gz, line-aligned (29,000 /
  1,014 / 1,000 pairs for train / val / test_2016_flickr)."""
  if split not in MULTI30K_SPLITS:
    raise ConfigError(f"Unknown Multi30k split {split!r}; valid splits: "
                      f"{', '.join(MULTI30K_SPLITS)}.")
  paths = [_require(_path(data_dir, "multi30k", f"{split}.{lang}.gz"), f"Multi30k {split}.{lang}",
                    "multi30k")
           for lang in (src, tgt)]
  src_lines, tgt_lines = (_read_gzip_lines(p) for p in paths)
  if len(src_lines) != len(tgt_lines):
    raise DataError(f"{paths[0]} has {len(src_lines)} lines but {paths[1]} has "
                    f"{len(tgt_lines)}; the files of a split must be line-aligned.")
  return src_lines, tgt_lines
