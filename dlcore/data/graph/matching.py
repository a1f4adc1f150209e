"""Node correspondence between two copies of one graph in different numberings (the Planetoid
files and the LINQS release of Cora): which node of B is node i of A.

Colour refinement (1-dimensional Weisfeiler-Lehman) over both graphs at once: a node's first
colour is its feature row; each round, a node's new colour is its colour together
with the multiset of its neighbours' colours (hashed as a sum of random 64-bit words, one per
colour: equal multisets always give equal hashes, different ones collide with probability
~2^-64, and the final check would catch it). Rounds stop when no class splits. Nodes that are
still tied (Cora has papers with equal words and neighbourhood shape) are
individualised one pair at a time: the first A node and the first B node of the smallest tied
class get a colour of their own, and refinement runs again, until every class holds one node
of each graph. The result is then checked: a bijection under which features and edge sets agree
exactly, and labels agree up to a renumbering of the classes (Planetoid numbers Cora's classes
in another order than LINQS's sorted names); anything else is a `DataError`.
"""

from __future__ import annotations

import numpy as np

from dlcore.errors import DataError


def _colours(keys: np.ndarray) -> np.ndarray:
  """Rows of `keys` renumbered 0..k-1 (equal rows, equal numbers)."""
  return np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def refine(colours: np.ndarray, senders: np.ndarray, receivers: np.ndarray,
           seed: int = 0) -> np.ndarray:
  """Refine `colours` [M] over the directed edges until the partition is stable."""
  rng = np.random.default_rng(seed)
  count = colours.max() + 1
  while True:
    words = rng.integers(0, np.iinfo(np.int64).max, size=count, dtype=np.int64).view(np.uint64)
    hashes = np.zeros(len(colours), np.uint64)
    np.add.at(hashes, receivers, words[colours[senders]])
    new = _colours(np.stack([colours, hashes.view(np.int64)], 1))
    new_count = new.max() + 1
    colours = new
    if new_count == count:
      return colours
    count = new_count


def _stacked(edges_a: np.ndarray, edges_b: np.ndarray, n: int):
  """Both graphs' unique undirected edges (B's nodes after A's), as directed (senders,
  receivers) both ways: repeated edges would count twice in a neighbour multiset."""
  unique = lambda e: np.stack(np.divmod(edge_set(e, n), n), 1)
  both = np.concatenate([unique(edges_a), unique(edges_b) + n])
  return np.concatenate([both[:, 0], both[:, 1]]), np.concatenate([both[:, 1], both[:, 0]])


def match_graphs(features_a, edges_a, features_b, edges_b,
                 what: str = "the two graphs") -> np.ndarray:
  """`perm` with node i of A = node perm[i] of B (edges: [E, 2] arrays, either direction,
  repeats allowed). DataError when the graphs are not the same."""
  n_a, n_b = len(features_a), len(features_b)
  if n_a != n_b or features_a.shape[1] != features_b.shape[1]:
    raise DataError(f"{what} differ in size: {features_a.shape} and {features_b.shape} features.")
  colours = _colours(np.concatenate([features_a, features_b]).astype(np.float32))
  senders, receivers = _stacked(np.asarray(edges_a), np.asarray(edges_b), n_a)
  side = np.arange(2 * n_a) >= n_a
  while True:
    colours = refine(colours, senders, receivers)
    count_a = np.bincount(colours[~side], minlength=colours.max() + 1)
    count_b = np.bincount(colours[side], minlength=colours.max() + 1)
    if (count_a != count_b).any():
      raise DataError(f"{what} are not the same graph: {int((count_a > count_b).sum())} kinds "
                      f"of node (features and neighbourhood) occur more often in one.")
    tied = np.flatnonzero(count_a > 1)
    if not len(tied):
      break
    c = tied[np.argmin(count_a[tied])]
    a = np.flatnonzero((colours == c) & ~side)[0]
    b = np.flatnonzero((colours == c) & side)[0]
    colours = colours.copy()
    colours[[a, b]] = colours.max() + 1
  order_b = np.empty(colours.max() + 1, np.int64)
  order_b[colours[side]] = np.arange(n_b)
  perm = order_b[colours[~side]]
  check_mapping(perm, features_a, edges_a, features_b, edges_b, what)
  return perm


def edge_set(edges: np.ndarray, n: int) -> np.ndarray:
  """Sorted unique undirected edge keys min*n + max, self-loops dropped."""
  edges = np.asarray(edges, np.int64).reshape(-1, 2)
  lo, hi = edges.min(1), edges.max(1)
  keep = lo != hi
  return np.unique(lo[keep] * n + hi[keep])


def check_mapping(perm, features_a, edges_a, features_b, edges_b, what: str) -> None:
  """DataError unless `perm` is a bijection carrying A's features and edges onto B's."""
  n = len(features_b)
  if len(perm) != n or not np.array_equal(np.sort(perm), np.arange(n)):
    raise DataError(f"the node mapping between {what} is not a bijection.")
  if not np.array_equal(features_b[perm], features_a):
    raise DataError(f"the node mapping between {what} does not carry the features over.")
  if not np.array_equal(edge_set(perm[np.asarray(edges_a)], n), edge_set(edges_b, n)):
    raise DataError(f"the node mapping between {what} does not carry the edges over.")


def class_map(labels_a: np.ndarray, labels_b: np.ndarray, what: str) -> np.ndarray:
  """`m` with class k of A = class m[k] of B, from the labels of matched nodes (-1: none);
  DataError unless it is one-to-one."""
  known = labels_a >= 0
  pairs = np.unique(np.stack([labels_a[known], labels_b[known]], 1), axis=0)
  if len(np.unique(pairs[:, 0])) != len(pairs) or len(np.unique(pairs[:, 1])) != len(pairs):
    raise DataError(f"the labels of {what} disagree: matched nodes pair "
                    f"{len(pairs)} (class, class) combinations, not one class to one class.")
  out = np.full(labels_a.max() + 1, -1, np.int64)
  out[pairs[:, 0]] = pairs[:, 1]
  return out
