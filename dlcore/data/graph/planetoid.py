"""The Planetoid files of a graph (Yang et al. 2016; used unchanged by Kipf & Welling's GCN and
by GAT), which define the standard semi-supervised split: `<prefix>.{x, y, allx, ally, tx, ty,
graph, test.index}`, e.g. cora/planetoid/ind.cora.

  x, y        features (scipy CSR) and one-hot labels of the labelled training nodes (140)
  allx, ally  every node that is not a test node, the training nodes first (1,708)
  tx, ty      the test nodes (1,000), row k is the node numbered test.index[k]
  graph       {node: [neighbours]} over all nodes (repeats allowed)
  test.index  the test nodes' numbers, one a line, in the (shuffled) order of tx's rows

The numbering: node i < len(allx) is row i of allx/ally; node test.index[k] is row k of
tx/ty. (Reference loaders stack allx and tx and then move the tx rows to the test.index
positions; on CiteSeer the test numbers leave gaps, nodes without rows, whose features and
labels stay empty. Cora's test numbers are exactly 1708..2707.) The split is train = nodes
0..len(y)-1, val = the next 500 nodes, test = test.index.

The pickles were written by Python 2, so they are read with `encoding='latin1'`, and with an
unpickler that can only build the classes those files need (numpy arrays and dtypes, a SciPy
CSR matrix, a defaultdict of lists): a pickle naming anything else (`os.system`, ...) is a
`DataError`, never executed.
"""

from __future__ import annotations

import collections
import dataclasses
import pathlib
import pickle

import numpy as np
import scipy.sparse

from dlcore.errors import DataError

NUM_VAL = 500
PICKLES = ("x", "y", "allx", "ally", "tx", "ty", "graph")


def _reconstruct():
  try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct as fn
  except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as fn
  return fn


_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct(),
    ("scipy.sparse.csr", "csr_matrix"): scipy.sparse.csr_matrix,
    ("scipy.sparse._csr", "csr_matrix"): scipy.sparse.csr_matrix,
    ("collections", "defaultdict"): collections.defaultdict,
    ("__builtin__", "list"): list, ("builtins", "list"): list,
}


class RestrictedUnpickler(pickle.Unpickler):
  """An unpickler whose only globals are the numpy/scipy/collections classes of Planetoid."""

  def find_class(self, module: str, name: str):
    try:
      return _ALLOWED[(module, name)]
    except KeyError:
      raise DataError(f"{getattr(self, 'path', 'pickle')}: refers to {module}.{name}, which a "
                      f"Planetoid file never needs; not loading it (only numpy arrays, SciPy CSR "
                      f"matrices and dicts of lists are read).") from None


def load_pickle(path: str | pathlib.Path):
  """One Planetoid pickle read by `RestrictedUnpickler` (Python-2 strings as latin1)."""
  path = pathlib.Path(path)
  try:
    with path.open("rb") as f:
      unpickler = RestrictedUnpickler(f, encoding="latin1")
      unpickler.path = path
      return unpickler.load()
  except DataError:
    raise
  except FileNotFoundError:
    raise DataError(f"Planetoid file {path} does not exist.") from None
  except Exception as e:  # truncated or not a pickle at all
    raise DataError(f"Planetoid file {path} cannot be read as a pickle ({type(e).__name__}: "
                    f"{e}).") from None


@dataclasses.dataclass
class PlanetoidGraph:
  """A graph in Planetoid numbering; labels -1 where a node has no label row."""
  features: np.ndarray  # [N, F] float32
  labels: np.ndarray  # [N] int32
  edges: np.ndarray  # [E, 2] int64, as listed in `graph` (repeats and both directions)
  train: np.ndarray
  val: np.ndarray
  test: np.ndarray


def _dense(value, what: pathlib.Path) -> np.ndarray:
  if scipy.sparse.issparse(value):
    value = value.toarray()
  if not isinstance(value, np.ndarray) or value.ndim != 2:
    raise DataError(f"{what} holds {type(value).__name__}, not a 2-D matrix.")
  return np.asarray(value, np.float32)


def _labels(one_hot: np.ndarray, what: pathlib.Path) -> np.ndarray:
  if ((one_hot != 0) & (one_hot != 1)).any() or (one_hot.sum(1) > 1).any():
    raise DataError(f"{what} is not a one-hot label matrix.")
  return np.where(one_hot.sum(1) > 0, one_hot.argmax(1), -1).astype(np.int32)


def read_test_index(path: pathlib.Path) -> np.ndarray:
  try:
    lines = path.read_text().split("\n")
  except OSError as e:
    raise DataError(f"cannot read Planetoid file {path}: {e}.") from None
  out = []
  for number, line in enumerate(lines, 1):
    if line.strip():
      try:
        out.append(int(line))
      except ValueError:
        raise DataError(f"{path} line {number}: {line.strip()!r} is not a node number.") from None
  return np.asarray(out, np.int64)


def read_planetoid(prefix: str | pathlib.Path) -> PlanetoidGraph:
  """The graph and split of the Planetoid files `<prefix>.*` (module docstring)."""
  prefix = pathlib.Path(prefix)
  file = lambda ext: prefix.with_name(f"{prefix.name}.{ext}")
  raw = {k: load_pickle(file(k)) for k in PICKLES}
  x, allx, tx = (_dense(raw[k], file(k)) for k in ("x", "allx", "tx"))
  y, ally, ty = (_labels(_dense(raw[k], file(k)), file(k)) for k in ("y", "ally", "ty"))
  test = read_test_index(file("test.index"))
  for a, b, names in ((x, y, "x/y"), (allx, ally, "allx/ally"), (tx, ty, "tx/ty")):
    if len(a) != len(b):
      raise DataError(f"{prefix}.{names}: {len(a)} feature rows but {len(b)} label rows.")
  if len(test) != len(tx) or len(set(test.tolist())) != len(test) or (
      len(test) and test.min() < len(allx)):
    raise DataError(f"{file('test.index')}: needs {len(tx)} distinct node numbers >= "
                    f"{len(allx)} (one per tx row), got {len(test)} "
                    f"({len(set(test.tolist()))} distinct).")
  if not np.array_equal(allx[:len(x)], x) or not np.array_equal(ally[:len(y)], y):
    raise DataError(f"{prefix}: allx/ally do not start with the training nodes x/y.")
  graph = raw["graph"]
  if not isinstance(graph, dict) or not all(isinstance(v, list) for v in graph.values()):
    raise DataError(f"{file('graph')} is not a dict of neighbour lists.")
  edges = np.asarray([(int(u), int(v)) for u, vs in graph.items() for v in vs],
                     np.int64).reshape(-1, 2)
  n = int(max(len(allx), test.max() + 1 if len(test) else 0, edges.max() + 1 if len(edges)
              else 0))
  features = np.zeros((n, allx.shape[1]), np.float32)
  labels = np.full(n, -1, np.int32)
  features[:len(allx)], labels[:len(allx)] = allx, ally
  features[test], labels[test] = tx, ty
  return PlanetoidGraph(features=features, labels=labels, edges=edges,
                        train=np.arange(len(y)), val=np.arange(len(y), len(y) + NUM_VAL),
                        test=np.sort(test))
