"""Retrieval by nearest-neighbour search (exercise 002 §11.2.7): recall@k of an embedding."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
from jax.sharding import Mesh

from dlcore.evals.split_metrics import predict_split

QUERY_BLOCK = 1000  # queries per block of the nearest-neighbour search


def recall_at_k(embeddings: np.ndarray, labels: np.ndarray, ks: Sequence[int] = (1, 5),
                block: int = QUERY_BLOCK) -> dict[str, float]:
  """{'recall@k': fraction of queries with >= 1 same-label item among its k nearest others}.

  Every row is a query against all the OTHER rows (itself excluded), by Euclidean distance
  (computed as squared distance in float64, |q|^2 + |x|^2 - 2 q.x, which ranks the same).
  Ties: the k nearest are taken in order of (distance, index), i.e. among equally distant
  items the lower index is taken first (a stable sort by distance). Queries are processed in
  blocks of `block` rows so memory is block x N.
  """
  x = np.asarray(embeddings, np.float64)
  labels = np.asarray(labels)
  n = x.shape[0]
  ks = [int(k) for k in ks]
  if not ks or min(ks) < 1 or max(ks) > n - 1:
    raise ValueError(f"recall@k needs 1 <= k <= N - 1 = {n - 1}; got ks={ks}.")
  sq = np.sum(x * x, axis=1)
  hits = {k: 0 for k in ks}
  for start in range(0, n, block):
    q = x[start:start + block]
    rows = np.arange(q.shape[0])
    d = sq[start:start + block, None] + sq[None, :] - 2.0 * (q @ x.T)
    d[rows, start + rows] = np.inf  # not itself
    same = labels[start:start + block, None] == labels[None, :]
    for k in ks:
      kth = np.partition(d, k - 1, axis=1)[:, k - 1:k]  # the k-th smallest distance
      closer = d < kth
      tied = d == kth
      # all strictly closer items, then the lowest-index tied ones up to k items in all
      take_tied = tied & (np.cumsum(tied, axis=1) <= k - closer.sum(axis=1, keepdims=True))
      hits[k] += int(np.count_nonzero(((closer | take_tied) & same).any(axis=1)))
  return {f"recall@{k}": hits[k] / n for k in ks}


def recall_evaluator(embed: Callable, arrays: Mapping[str, Any], batch_size: int, mesh: Mesh,
                     ks: Sequence[int] = (1, 5)) -> Callable:
  """An evaluator function: embed every example of `arrays` with the jitted `embed(state,
  batch, *args)`, then recall@k of each against all the others."""

  def run(state, args, workdir=None):
    emb, labels = predict_split(embed, state, arrays, batch_size, mesh, args)
    return {**recall_at_k(emb, labels, ks), "num_examples": int(emb.shape[0])}

  return run
