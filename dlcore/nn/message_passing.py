"""Message passing over an edge list (LAY-44, LAY-45; GAT): each node i collects messages m_ji
from the nodes j with an edge j -> i (`senders` j, `receivers` i), aggregates them, and updates.

  aggregate(m, receivers, N, 'sum'|'mean'|'max')   [E, ...] -> [N, ...]; a node without
                                                   incoming edges gets 0
  segment_softmax(e, receivers, N)                 softmax over each node's incoming edges

Three layers, all `propagate` over (senders, receivers) with segment ops (`jax.ops`):

  MessagePassing   m_ji = W_m h_j, a_i = AGG_j m_ji, h_i' = W_u [h_i ; a_i] + b      (LAY-44)
  GCNConv          H' = Â H W + b, Â = D̃^-1/2 (A + I) D̃^-1/2, D̃_ii = 1 + deg(i):
                   m_ji = Â_ij (H W)_j, summed (Kipf & Welling 2017)                  (LAY-45)
  GATConv          per head k: z = W_k h; e_ji = LeakyReLU_0.2(a_srcᵀ z_j + a_dstᵀ z_i);
                   α_ji = softmax over j ∈ N(i) ∪ {i} of e_ji; h_i' = Σ_j α_ji z_j + b;
                   heads concatenated or averaged (Veličković et al. 2018)

Edges are directed pairs; an undirected graph lists each edge both ways. GCN and GAT add the
self-loops i -> i themselves, so the edge list should not have them. The node features x may
be a dense [N, F] array or a `dlcore.nn.sparse.SparseMatrix` (the layers' first product is then
a sparse one); weights are Glorot-uniform, biases zero, as in both papers' code. Dropout (the
'dropout' rng) in GAT falls on the attention coefficients and on the transformed features z, as
in the authors' code; the coefficients before dropout are sown as intermediates 'attention'
[E+N, H] (edges, then the self-loops).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.nn.dropout import Dropout
from dlcore.nn.sparse import linear

AGGREGATIONS = ("sum", "mean", "max")
glorot = nn.initializers.glorot_uniform()
zeros = nn.initializers.zeros


def aggregate(messages: jax.Array, receivers: jax.Array, num_nodes: int,
              how: str = "sum") -> jax.Array:
  """Sum, mean or max of the messages [E, ...] arriving at each of `num_nodes` nodes."""
  if how not in AGGREGATIONS:
    raise ConfigError(f"aggregation={how!r}; valid: {', '.join(AGGREGATIONS)}.")
  if how == "max":
    out = jax.ops.segment_max(messages, receivers, num_nodes)
    return jnp.where(jnp.isneginf(out), 0.0, out)
  total = jax.ops.segment_sum(messages, receivers, num_nodes)
  if how == "sum":
    return total
  count = jax.ops.segment_sum(jnp.ones_like(receivers, messages.dtype), receivers, num_nodes)
  return total / jnp.maximum(count, 1.0).reshape((-1,) + (1,) * (messages.ndim - 1))


def segment_softmax(logits: jax.Array, segments: jax.Array, num_segments: int) -> jax.Array:
  """exp(e) / Σ exp(e) over the entries of each segment (stabilised by the segment max)."""
  top = jax.lax.stop_gradient(jax.ops.segment_max(logits, segments, num_segments))
  e = jnp.exp(logits - jnp.where(jnp.isfinite(top), top, 0.0)[segments])
  return e / jax.ops.segment_sum(e, segments, num_segments)[segments]


def with_self_loops(senders: jax.Array, receivers: jax.Array, num_nodes: int):
  """The edge list followed by the N self-loops i -> i."""
  loops = jnp.arange(num_nodes, dtype=senders.dtype)
  return jnp.concatenate([senders, loops]), jnp.concatenate([receivers, loops])


def gcn_weights(senders: jax.Array, receivers: jax.Array, num_nodes: int) -> jax.Array:
  """Â_ij = 1/sqrt(d̃_i d̃_j) of each edge (self-loops included), d̃ = in-degree in A + I."""
  degree = jax.ops.segment_sum(jnp.ones_like(receivers, jnp.float32), receivers, num_nodes)
  inv_sqrt = jax.lax.rsqrt(jnp.maximum(degree, 1.0))
  return inv_sqrt[senders] * inv_sqrt[receivers]


class MessagePassing(nn.Module):
  """LAY-44: h_i' = W_u [h_i ; AGG_{j -> i} W_m h_j] + b, AGG = `aggregation` (W_u applied as
  its two blocks, W_self h_i + W_agg a_i, so h may be sparse)."""
  features: int
  aggregation: str = "sum"

  @nn.compact
  def __call__(self, x, senders, receivers):
    messages = linear(self, x, self.features, "message_kernel")
    pooled = aggregate(messages[senders], receivers, x.shape[0], self.aggregation)
    update = linear(self, x, self.features, "self_kernel") + linear(
        self, pooled, self.features, "aggregate_kernel")
    return update + self.param("bias", zeros, (self.features,))


class GCNConv(nn.Module):
  """LAY-45: H' = Â H W + b (module docstring)."""
  features: int
  use_bias: bool = True

  @nn.compact
  def __call__(self, x, senders, receivers):
    n = x.shape[0]
    h = linear(self, x, self.features)
    senders, receivers = with_self_loops(senders, receivers, n)
    out = aggregate(h[senders] * gcn_weights(senders, receivers, n)[:, None], receivers, n)
    if self.use_bias:
      out = out + self.param("bias", zeros, (self.features,))
    return out


class GATConv(nn.Module):
  """Multi-head graph attention (module docstring): [N, heads * features] when `concat`, else
  the mean over heads [N, features]."""
  features: int
  num_heads: int = 1
  concat: bool = True
  negative_slope: float = 0.2
  attention_dropout: float = 0.0
  feature_dropout: float = 0.0

  @nn.compact
  def __call__(self, x, senders, receivers, train: bool = False):
    n, heads = x.shape[0], self.num_heads
    z = linear(self, x, heads * self.features).reshape(n, heads, self.features)
    a_src = self.param("att_src", glorot, (heads, self.features))
    a_dst = self.param("att_dst", glorot, (heads, self.features))
    senders, receivers = with_self_loops(senders, receivers, n)
    logits = (z * a_src).sum(-1)[senders] + (z * a_dst).sum(-1)[receivers]  # [E + N, heads]
    alpha = segment_softmax(nn.leaky_relu(logits, self.negative_slope), receivers, n)
    self.sow("intermediates", "attention", alpha)
    alpha = Dropout(self.attention_dropout, name="attention_dropout")(alpha, train)
    z = Dropout(self.feature_dropout, name="feature_dropout")(z, train)
    out = aggregate(alpha[..., None] * z[senders], receivers, n)  # [N, heads, features]
    width = heads * self.features if self.concat else self.features
    out = out.reshape(n, -1) if self.concat else out.mean(1)
    return out + self.param("bias", zeros, (width,))
