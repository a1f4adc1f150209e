"""Random walks on a graph for DeepWalk (ARC-41) and node2vec (ARC-42), in JAX so a train step
makes its own walks (`lax.scan` over the walk's steps).

The graph is a padded neighbour table: row v holds v's neighbours sorted, padded with N (one
past every node), and `degree[v]` of them are real. Memory is N x max degree (Cora: 2,708 x
168 int32), fine for citation graphs; a graph with hub nodes of huge degree would want CSR with
rejection sampling instead.

node2vec's second-order walk: having come from t to v, the next node x among v's neighbours is
drawn with the unnormalised probability π_vx = α_pq(t, x),

  α = 1/p  if x = t          (return)
  α = 1    if x ~ t          (x is also a neighbour of t: stay close, BFS-like)
  α = 1/q  otherwise         (move outward, DFS-like)

divided by Z = Σ_x π_vx (Grover & Leskovec 2016; the graph is unweighted), sampled by rejection
(a uniform neighbour, kept with probability α / max α) so a step costs a few lookups per walk,
not a pass over v's whole table row. The first step from the start node is uniform; p = q = 1
is DeepWalk's uniform walk (then sampled directly). A node without neighbours stays where it
is; its pairs get weight 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def neighbour_table(senders: np.ndarray, receivers: np.ndarray,
                    num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
  """(table [N, max(1, max degree)] int32 padded with N, degree [N] int32): the neighbours of
  node v are the senders of the edges received by v."""
  order = np.lexsort((senders, receivers))
  s, r = np.asarray(senders)[order], np.asarray(receivers)[order]
  degree = np.bincount(r, minlength=num_nodes).astype(np.int32)
  start = np.concatenate([[0], np.cumsum(degree)[:-1]])
  table = np.full((num_nodes, max(1, int(degree.max(initial=0)))), num_nodes, np.int32)
  table[r, np.arange(len(r)) - start[r]] = s
  return table, degree


def search_bias(table, previous, candidates, p: float, q: float) -> jax.Array:
  """α_pq(t, x) for `candidates` x [B, ...] having come from `previous` t [B]: 1/p (x = t),
  1 (x is a neighbour of t), 1/q (otherwise)."""
  prev_row = table[previous].reshape(previous.shape + (1,) * (candidates.ndim - 1) + (-1,))
  near = (prev_row == candidates[..., None]).any(-1)
  t = previous.reshape(previous.shape + (1,) * (candidates.ndim - 1))
  return jnp.where(candidates == t, 1.0 / p, jnp.where(near, 1.0, 1.0 / q))


def node2vec_weights(table, degree, previous, current, p: float, q: float) -> jax.Array:
  """π [B, D]: the unnormalised probabilities of moving from `current` to each entry of its
  table row, having come from `previous` (0 on the padding)."""
  table, degree = jnp.asarray(table), jnp.asarray(degree)
  candidates = table[current]  # [B, D]
  real = jnp.arange(table.shape[1])[None] < degree[current][:, None]
  return jnp.where(real, search_bias(table, previous, candidates, p, q), 0.0)


def _uniform_step(key, table, degree, current):
  pick = jax.random.uniform(key, current.shape) * degree[current]
  nxt = table[current, jnp.minimum(pick.astype(jnp.int32), table.shape[1] - 1)]
  return jnp.where(degree[current] > 0, nxt, current)


def _node2vec_step(key, table, degree, previous, current, p: float, q: float):
  """One second-order step by rejection: propose a uniform neighbour x, accept it with
  probability α_pq(t, x) / max α, repeat for the walks not yet moved. Exact: x is accepted with
  probability ∝ α_pq(t, x), i.e. π_vx / Z; about max α / mean α proposals a walk."""
  top = max(1.0 / p, 1.0, 1.0 / q)

  def body(carry):
    key, nxt, done = carry
    key, propose, coin = jax.random.split(key, 3)
    candidate = _uniform_step(propose, table, degree, current)
    accept = jax.random.uniform(coin, current.shape) * top < search_bias(table, previous,
                                                                           candidate, p, q)
    return key, jnp.where(~done & accept, candidate, nxt), done | accept

  _, nxt, _ = jax.lax.while_loop(lambda carry: ~carry[2].all(), body,
                                 (key, current, degree[current] == 0))
  return nxt


def random_walks(key: jax.Array, starts: jax.Array, table, degree, length: int,
                 p: float = 1.0, q: float = 1.0) -> jax.Array:
  """[B, length] int32 walks from `starts` [B] (node2vec's with p, q; uniform when p = q = 1)."""
  table, degree = jnp.asarray(table), jnp.asarray(degree)
  starts = jnp.asarray(starts, jnp.int32)
  if length == 1:
    return starts[:, None]
  keys = jax.random.split(key, length - 1)
  first = _uniform_step(keys[0], table, degree, starts)

  def step(carry, k):
    previous, current = carry
    if p == 1.0 and q == 1.0:
      nxt = _uniform_step(k, table, degree, current)
    else:
      nxt = _node2vec_step(k, table, degree, previous, current, p, q)
    return (current, nxt), nxt

  _, rest = jax.lax.scan(step, (starts, first), keys[1:])
  return jnp.concatenate([starts[:, None], first[:, None], rest.T], 1)
