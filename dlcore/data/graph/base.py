"""A node-classification graph in memory (`Graph`) and `load_graph(config.data)`.

Data config keys (all optional):
  data_dir            the data folder ('' = $DLCORE_DATA_DIR)
  path                the LINQS files (`dlcore.data.graph.linqs`): the prefix of
                      <path>.content / <path>.cites, or their folder; relative to data_dir
                      unless absolute (default 'cora/linqs/cora')
  split               'planetoid': the standard split of the Planetoid files at `planetoid`
                      (Cora: 140 train / 500 val / 1,000 test; Kipf & Welling, GAT, PyG), the
                      Planetoid nodes matched onto the LINQS nodes (`matching`); 'random': a
                      seeded split of any graph, `train_per_class` nodes of each class for
                      training, then `num_val` and `num_test` of the other nodes
  planetoid           prefix of the Planetoid files (default 'cora/planetoid/ind.cora')
  train_per_class, num_val, num_test, split_seed    of split='random' (20, 500, 1000, 0)
  normalize_features  'row': each feature row divided by its sum (as the GCN and GAT code
                      does for bag-of-words), 'none': as read

The graph is undirected: every edge of the .cites file in both directions, repeated edges
(Cora: a pair citing each other) kept once and self-loops dropped (models that want them add
them: GCN's A + I, GAT's attention to itself). `senders`/`receivers` list each undirected edge
twice, sorted by receiver.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np

from dlcore.config import cfg_get
from dlcore.data.base import resolve_data_dir
from dlcore.data.graph.linqs import read_linqs
from dlcore.data.graph.matching import class_map, edge_set, match_graphs
from dlcore.data.graph.planetoid import read_planetoid
from dlcore.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")
SPLIT_KINDS = ("planetoid", "random")
NORMALIZATIONS = ("row", "none")


@dataclasses.dataclass
class Graph:
  """Node features, labels, the undirected edges as directed pairs, and node splits."""
  name: str
  features: np.ndarray  # [N, F] float32
  labels: np.ndarray  # [N] int32
  senders: np.ndarray  # [2E] int32
  receivers: np.ndarray  # [2E] int32, sorted
  class_names: tuple[str, ...]
  node_ids: tuple[str, ...]
  splits: dict[str, np.ndarray]  # split -> node indices
  notes: str = ""  # what loading dropped or matched, for the banner

  @property
  def num_nodes(self) -> int:
    return len(self.labels)

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  def mask(self, split: str) -> np.ndarray:
    """[N] float32, 1 on the nodes of `split`."""
    out = np.zeros(self.num_nodes, np.float32)
    out[self.splits[split]] = 1.0
    return out

  def degrees(self) -> np.ndarray:
    return np.bincount(self.receivers, minlength=self.num_nodes)


def undirected(edges: np.ndarray, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
  """(senders, receivers) int32: each unique undirected non-loop edge both ways, sorted by
  (receiver, sender)."""
  keys = edge_set(edges, num_nodes)
  lo, hi = np.divmod(keys, num_nodes)
  senders, receivers = np.concatenate([lo, hi]), np.concatenate([hi, lo])
  order = np.lexsort((senders, receivers))
  return senders[order].astype(np.int32), receivers[order].astype(np.int32)


def _path(data_dir: pathlib.Path, value: str) -> pathlib.Path:
  path = pathlib.Path(os.path.expanduser(str(value)))
  return path if path.is_absolute() else data_dir / path


def random_split(labels: np.ndarray, per_class: int, num_val: int, num_test: int,
                 seed: int) -> dict[str, np.ndarray]:
  """`per_class` training nodes of every class, then `num_val` and `num_test` others."""
  rng = np.random.default_rng(seed)
  order = rng.permutation(len(labels))
  train = np.concatenate([order[labels[order] == c][:per_class]
                          for c in range(labels.max() + 1)])
  rest = order[~np.isin(order, train)]
  if len(rest) < num_val + num_test:
    raise ConfigError(f"data.num_val + data.num_test = {num_val + num_test} but only "
                      f"{len(rest)} nodes are left after {len(train)} training nodes.")
  return {"train": np.sort(train), "val": np.sort(rest[:num_val]),
          "test": np.sort(rest[num_val:num_val + num_test])}


def planetoid_split(prefix: pathlib.Path, features: np.ndarray, labels: np.ndarray,
                    edges: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
  """(splits in the LINQS numbering, perm: Planetoid node i = LINQS node perm[i])."""
  planetoid = read_planetoid(prefix)
  what = f"the Planetoid files {prefix}.* and the LINQS graph"
  binary = lambda f: (f != 0).astype(np.float32)  # either may be row-normalised
  perm = match_graphs(binary(planetoid.features), planetoid.edges, binary(features), edges, what)
  class_map(planetoid.labels, labels[perm], what)
  return {s: np.sort(perm[getattr(planetoid, s)]) for s in SPLITS}, perm


def load_graph(cfg) -> Graph:
  """The graph and node splits of `config.data` (module docstring)."""
  data_dir = resolve_data_dir(cfg)
  path = _path(data_dir, cfg_get(cfg, "path", "cora/linqs/cora"))
  ids, features, labels, classes, edges = read_linqs(path)
  n = len(ids)
  senders, receivers = undirected(edges, n)
  loops = int((edges[:, 0] == edges[:, 1]).sum())
  notes = (f"{len(edges)} edge lines -> {len(senders) // 2} undirected edges ({loops} "
           f"self-loops, {len(edges) - loops - len(senders) // 2} repeats dropped)")
  kind = str(cfg_get(cfg, "split", "planetoid"))
  if kind == "planetoid":
    prefix = _path(data_dir, cfg_get(cfg, "planetoid", "cora/planetoid/ind.cora"))
    splits, _ = planetoid_split(prefix, features, labels, edges)
    notes += f"; Planetoid split of {prefix.name} matched onto the LINQS nodes"
  elif kind == "random":
    splits = random_split(labels, int(cfg_get(cfg, "train_per_class", 20)),
                          int(cfg_get(cfg, "num_val", 500)), int(cfg_get(cfg, "num_test", 1000)),
                          int(cfg_get(cfg, "split_seed", 0)))
  else:
    raise ConfigError(f"data.split={kind!r}; valid: {', '.join(SPLIT_KINDS)}.")
  norm = str(cfg_get(cfg, "normalize_features", "row"))
  if norm not in NORMALIZATIONS:
    raise ConfigError(f"data.normalize_features={norm!r}; valid: {', '.join(NORMALIZATIONS)}.")
  if norm == "row":
    sums = features.sum(1, keepdims=True)
    features = features / np.where(sums == 0, 1.0, sums)
  if not len(splits["train"]):
    raise DataError(f"the split of {path} has no training nodes.")
  return Graph(name=path.name, features=features.astype(np.float32), labels=labels,
               senders=senders, receivers=receivers, class_names=tuple(classes),
               node_ids=tuple(ids), splits=splits, notes=notes)
