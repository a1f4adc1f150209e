"""The LINQS text format of a node-classification graph (Cora, CiteSeer releases): two files
with one common prefix,

  <prefix>.content   one node a line: `<node id> <F feature values> <class name>` (whitespace
                     separated; Cora: 2,708 papers x 1,433 binary words, 7 classes)
  <prefix>.cites     one edge a line: `<cited id> <citing id>` (Cora: 5,429 citations)

Node order is the order of the .content lines; classes are numbered in sorted name order.
Every problem (a missing file, a line with the wrong number of fields, a feature that is not a
number, a repeated node id, an edge to an id the .content file does not have) is one
`DataError` naming the file and the line.
"""

from __future__ import annotations

import pathlib

import numpy as np

from dlcore.errors import DataError


def linqs_files(path: str | pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
  """(<prefix>.content, <prefix>.cites) of `path`: the prefix itself, or a folder holding exactly
  one `*.content` file and its `.cites` file."""
  path = pathlib.Path(path)
  if path.is_dir():
    found = sorted(path.glob("*.content"))
    if len(found) != 1:
      raise DataError(f"graph folder {path} holds {len(found)} *.content files "
                      f"({', '.join(p.name for p in found) or 'none'}); it needs exactly one, "
                      f"or set data.path to the prefix <folder>/<name> of <name>.content.")
    path = found[0].with_suffix("")
  content, cites = path.with_name(path.name + ".content"), path.with_name(path.name + ".cites")
  for f in (content, cites):
    if not f.is_file():
      raise DataError(f"graph file {f} does not exist; data.path={str(path)!r} must be the "
                      f"prefix of <prefix>.content and <prefix>.cites (or their folder).")
  return content, cites


def _lines(path: pathlib.Path):
  """(line number, whitespace-split fields) of every non-blank line."""
  try:
    text = path.read_text(encoding="utf-8")
  except (OSError, UnicodeDecodeError) as e:
    raise DataError(f"cannot read graph file {path}: {e}.") from None
  for number, line in enumerate(text.splitlines(), 1):
    fields = line.split()
    if fields:
      yield number, fields


def read_content(path: pathlib.Path) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
  """(node ids, features [N, F] float32, labels [N] int32, class names) of a .content file."""
  ids, rows, names, width = [], [], [], None
  for number, fields in _lines(path):
    if width is None:
      width = len(fields)
      if width < 3:
        raise DataError(f"{path} line {number}: {width} fields; a node line is "
                        f"'<id> <features...> <class>'.")
    if len(fields) != width:
      raise DataError(f"{path} line {number}: {len(fields)} fields but the first node line has "
                      f"{width} (id, {width - 2} features, class).")
    try:
      rows.append(np.asarray(fields[1:-1], dtype=np.float32))
    except ValueError:
      bad = next(f for f in fields[1:-1] if not _is_number(f))
      raise DataError(f"{path} line {number}: feature {bad!r} is not a number.") from None
    ids.append(fields[0])
    names.append(fields[-1])
  if not ids:
    raise DataError(f"{path} has no node lines.")
  index = {}
  for number, node in enumerate(ids, 1):
    if node in index:
      raise DataError(f"{path}: node id {node!r} appears twice (node lines {index[node]} and "
                      f"{number}).")
    index[node] = number
  classes = sorted(set(names))
  lookup = {c: i for i, c in enumerate(classes)}
  features = np.stack(rows)
  if not np.isfinite(features).all():
    raise DataError(f"{path} has non-finite feature values.")
  return ids, features, np.asarray([lookup[c] for c in names], np.int32), classes


def _is_number(text: str) -> bool:
  try:
    float(text)
    return True
  except ValueError:
    return False


def read_cites(path: pathlib.Path, index: dict[str, int]) -> np.ndarray:
  """The edges [E, 2] (cited, citing) of a .cites file, as rows of the .content order."""
  edges = []
  for number, fields in _lines(path):
    if len(fields) != 2:
      raise DataError(f"{path} line {number}: {len(fields)} fields; an edge line is "
                      f"'<cited id> <citing id>'.")
    for node in fields:
      if node not in index:
        raise DataError(f"{path} line {number}: node id {node!r} is not in the .content file "
                        f"(an edge to an unknown node).")
    edges.append((index[fields[0]], index[fields[1]]))
  return np.asarray(edges, np.int64).reshape(-1, 2)


def read_linqs(path: str | pathlib.Path):
  """(node ids, features, labels, class names, directed edges [E, 2]) of a LINQS graph."""
  content, cites = linqs_files(path)
  ids, features, labels, classes = read_content(content)
  edges = read_cites(cites, {node: i for i, node in enumerate(ids)})
  return ids, features, labels, classes, edges
