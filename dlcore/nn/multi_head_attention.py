"""Scaled dot-product and multi-head attention (curriculum LAY-29..33), masks and a KV cache.

Shapes: queries q (B, T, H, d_k), keys k and values v (B, S, H, d_k); a mask is boolean, True
where a query may attend to a key, broadcastable to (B, H, T, S).

  Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V                          (eq. 80, LAY-29)
  head_i = Attention(X_q W_i^Q, X_kv W_i^K, X_kv W_i^V)                (eq. 81-82)
  MultiHead(X_q, X_kv) = Concat(head_1, ..., head_h) W^O               (eq. 83, LAY-31)

Self-attention is X_kv = X_q (LAY-30); cross-attention takes X_kv from the encoder (LAY-33); the
causal mask hides the keys after each query (LAY-32). Masked scores are set to the dtype's
minimum before the softmax and the weights are multiplied by the mask after it, so a masked
position gets exactly zero weight (a query with no visible key gets all-zero weights).

`dot_product_attention` calls `jax.nn.dot_product_attention` (cuDNN flash attention on GPU with
implementation='cudnn') unless the weights are asked for, when it computes them explicitly to
return them for a heatmap (ROB-5), or the backend is the CPU, where the explicit computation
with the heads next to the batch is faster. `KVCache` keeps the projected keys and values of
the tokens decoded so far, so incremental decoding costs one query per step instead of a
recomputation.
`SelfAttention` is the seeds' single-head reference (three 512 -> 64 maps without bias).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError


def causal_mask(q_len: int, k_len: int | None = None, offset: int = 0) -> jax.Array:
  """(1, 1, T, S) bool: query i (at position offset + i) sees keys j <= offset + i."""
  k_len = q_len if k_len is None else k_len
  rows = jnp.arange(q_len)[:, None] + offset
  return (jnp.arange(k_len)[None, :] <= rows)[None, None]


def padding_mask(valid: jax.Array) -> jax.Array:
  """(B, 1, 1, S) bool from valid (B, S): every query sees only the real (non-pad) keys."""
  return jnp.asarray(valid, bool)[:, None, None, :]


def combine_masks(*masks: jax.Array | None) -> jax.Array | None:
  """The logical AND of the masks that are not None (None if all are)."""
  masks = [m for m in masks if m is not None]
  if not masks:
    return None
  out = masks[0]
  for m in masks[1:]:
    out = jnp.logical_and(out, m)
  return out


def attention_weights(q: jax.Array, k: jax.Array, mask: jax.Array | None = None) -> jax.Array:
  """softmax(q kᵀ / √d_k) over the keys, (B, H, T, S), in float32; masked entries exactly 0.
  The heads move next to the batch first: a batched matmul over leading (B, H) runs about 1.7x
  faster on XLA:CPU than the same contraction with H between T and d."""
  scores = jnp.matmul(q.transpose(0, 2, 1, 3), k.transpose(0, 2, 3, 1)).astype(jnp.float32)
  scores = scores / jnp.sqrt(q.shape[-1])
  if mask is None:
    return jax.nn.softmax(scores, axis=-1)
  scores = jnp.where(mask, scores, jnp.finfo(jnp.float32).min)
  return jax.nn.softmax(scores, axis=-1) * mask


def dot_product_attention(q: jax.Array, k: jax.Array, v: jax.Array,
                          mask: jax.Array | None = None, return_weights: bool = False,
                          implementation: str | None = None):
  """(out (B, T, H, d_v), weights (B, H, T, S) or None) of eq. 80 for every head. On CPU (with
  `implementation` None) the explicit computation is used: XLA:CPU runs it faster than
  `jax.nn.dot_product_attention`'s (which is kept for GPU/TPU, where it can pick cuDNN)."""
  explicit = implementation is None and jax.default_backend() == "cpu"
  if return_weights or explicit:
    weights = attention_weights(q, k, mask)
    out = jnp.matmul(weights.astype(v.dtype), v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    return out, weights if return_weights else None
  if mask is not None:
    mask = jnp.broadcast_to(mask, (q.shape[0], q.shape[2], q.shape[1], k.shape[1]))
  return jax.nn.dot_product_attention(q, k, v, mask=mask, implementation=implementation), None


@flax.struct.dataclass
class KVCache:
  """The keys and values (B, L, H, d_k) of the first `index` positions of each row, L the most
  positions it holds. Every row has the same `index`; it is (B,) so that beam search can reorder
  the cache like any other batch-leading carry."""
  key: jax.Array
  value: jax.Array
  index: jax.Array

  @classmethod
  def zeros(cls, batch: int, max_len: int, num_heads: int, head_dim: int,
            dtype=jnp.float32) -> "KVCache":
    shape = (batch, max_len, num_heads, head_dim)
    return cls(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype), jnp.zeros((batch,), jnp.int32))

  @property
  def max_len(self) -> int:
    return self.key.shape[1]

  def append(self, k: jax.Array, v: jax.Array) -> tuple["KVCache", jax.Array]:
    """Write the T new positions; return the cache and the causal mask (1, 1, T, L) of the new
    queries over the filled positions."""
    start = self.index[0]
    key = jax.lax.dynamic_update_slice(self.key, k.astype(self.key.dtype), (0, start, 0, 0))
    value = jax.lax.dynamic_update_slice(self.value, v.astype(self.value.dtype),
                                         (0, start, 0, 0))
    mask = causal_mask(k.shape[1], self.max_len, start)
    return KVCache(key, value, self.index + k.shape[1]), mask


class Attended(NamedTuple):
  output: jax.Array  # (B, T, d_model)
  weights: jax.Array | None  # (B, H, T, S) when asked for
  cache: KVCache | None  # the updated cache when one was given


class MultiHeadAttention(nn.Module):
  """LAY-31 with h = `num_heads` and d_k = d_v = d_model / h; d_model defaults to the query's
  width. Call with inputs_kv=None for self-attention, the encoder states for cross-attention."""
  num_heads: int
  d_model: int | None = None
  use_bias: bool = True
  implementation: str | None = None  # jax.nn.dot_product_attention's ('xla', 'cudnn', None)
  dtype: Any = None  # compute dtype of the projections (bfloat16: mixed precision); params f32

  @nn.compact
  def __call__(self, inputs_q: jax.Array, inputs_kv: jax.Array | None = None,
               mask: jax.Array | None = None, cache: KVCache | None = None,
               return_weights: bool = False) -> Attended:
    d_model = self.d_model or inputs_q.shape[-1]
    if self.num_heads < 1 or d_model % self.num_heads:
      raise ConfigError(f"multi-head attention needs d_model ({d_model}) divisible by "
                        f"num_heads ({self.num_heads}).")
    d_k = d_model // self.num_heads
    project = lambda name: nn.DenseGeneral((self.num_heads, d_k), use_bias=self.use_bias,
                                           dtype=self.dtype, name=name)
    kv = inputs_q if inputs_kv is None else inputs_kv
    q, k, v = project("query")(inputs_q), project("key")(kv), project("value")(kv)
    if cache is not None:
      if k.shape[1] > cache.max_len:
        raise ConfigError(f"{k.shape[1]} new positions do not fit a KV cache of "
                          f"{cache.max_len} positions.")
      cache, cache_mask = cache.append(k, v)
      k, v, mask = cache.key, cache.value, combine_masks(mask, cache_mask)
    out, weights = dot_product_attention(q, k, v, mask, return_weights, self.implementation)
    out = nn.DenseGeneral(d_model, axis=(-2, -1), use_bias=self.use_bias, dtype=self.dtype,
                          name="out")(out)
    return Attended(out, weights, cache)


class SelfAttention(nn.Module):
  """The seeds' single-head self-attention (LAY-30): Q, K, V = X W_Q, X W_K, X W_V with three
  bias-free embed_dim -> head_dim maps (512 -> 64), scores Q Kᵀ / √head_dim, softmax over the
  keys; returns (output (B, T, head_dim), weights (B, T, T))."""
  head_dim: int = 64

  @nn.compact
  def __call__(self, x: jax.Array, mask: jax.Array | None = None):
    q, k, v = (nn.Dense(self.head_dim, use_bias=False, name=n)(x) for n in ("query", "key",
                                                                           "value"))
    weights = attention_weights(q[:, :, None], k[:, :, None], mask)[:, 0]
    return jnp.einsum("bts,bsd->btd", weights, v), weights
