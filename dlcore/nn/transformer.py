"""Transformer building blocks (curriculum LAY-24, 25, 34..37; ARC-22): positional encodings,
token embeddings, the position-wise FFN and the encoder and decoder layers.

  PE(pos, 2i) = sin(pos / 10000^{2i/d_model}),  PE(pos, 2i+1) = cos(pos / 10000^{2i/d_model})
                                                        (LAY-24, eq. 84-85; `sinusoidal_table`)
  FFN(x) = act(x W_1 + b_1) W_2 + b_2,  d_model -> d_ff -> d_model, act ReLU (seed) or GELU
  post-LN sublayer (seed, LAY-35):  LayerNorm(x + Dropout(Sublayer(x)))
  pre-LN sublayer (GPT-2, option):  x + Dropout(Sublayer(LayerNorm(x)))   (the stack then ends
                                    with one more LayerNorm)

`Embedder` maps token ids to E[x] · √d_model (scaled, ARC-22) + positions (sinusoidal or
learned, LAY-25) and, with tied embeddings, maps the final states back to vocabulary logits with
Eᵀ (`Embedder.attend`). A position table has `max_len` rows: a longer sequence is a
`ConfigError` that names both lengths. `EncoderLayer` is self-attention + FFN (LAY-36; with a
causal mask it is also the GPT block); `DecoderLayer` is causal self-attention + cross-attention
over the encoder states + FFN (LAY-37). Both take an optional `KVCache` for incremental
decoding and can return their attention weights.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dlcore.errors import ConfigError
from dlcore.nn.activations import get_activation
from dlcore.nn.multi_head_attention import KVCache, MultiHeadAttention

POSITIONS = ("sinusoidal", "learned", "none")


def sinusoidal_table(max_len: int, d_model: int) -> np.ndarray:
  """(max_len, d_model) float32 table of eq. 84-85 (d_model even)."""
  if d_model % 2:
    raise ConfigError(f"sinusoidal positions need an even d_model, got {d_model}.")
  pos = np.arange(max_len, dtype=np.float64)[:, None]
  rates = 10000.0 ** (-np.arange(0, d_model, 2, dtype=np.float64) / d_model)
  table = np.zeros((max_len, d_model))
  table[:, 0::2], table[:, 1::2] = np.sin(pos * rates), np.cos(pos * rates)
  return table.astype(np.float32)


def check_length(length: int, max_len: int, what: str = "sequence") -> None:
  if length > max_len:
    raise ConfigError(f"a {what} of {length} positions is longer than the positional table "
                      f"({max_len} positions); raise model.max_len or shorten the input.")


class Embedder(nn.Module):
  """Token embedding × √d_model plus positions (`positions` sinusoidal/learned/none)."""
  vocab_size: int
  d_model: int
  max_len: int
  positions: str = "sinusoidal"
  scale: bool = True  # × √d_model (ARC-22); GPT-style models use False
  dtype: Any = None  # compute dtype (bfloat16: mixed precision); the table stays float32

  def setup(self):
    if self.positions not in POSITIONS:
      raise ConfigError(f"positions={self.positions!r} is unknown; use one of "
                        f"{', '.join(POSITIONS)}.")
    self.embed = nn.Embed(self.vocab_size, self.d_model, dtype=self.dtype,
                          embedding_init=nn.initializers.normal(self.d_model ** -0.5
                                                                if self.scale else 0.02))
    if self.positions == "learned":
      self.position_table = self.param("position_table", nn.initializers.normal(0.02),
                                       (self.max_len, self.d_model))

  def __call__(self, tokens: jax.Array, offset=0) -> jax.Array:
    """(B, T) ids at positions offset..offset+T-1 -> (B, T, d_model)."""
    length = tokens.shape[1]
    check_length(length, self.max_len)
    x = self.embed(jnp.asarray(tokens, jnp.int32))
    if self.scale:
      x = x * jnp.sqrt(float(self.d_model))
    if self.positions == "none":
      return x
    table = (jnp.asarray(sinusoidal_table(self.max_len, self.d_model))
             if self.positions == "sinusoidal" else self.position_table)
    return x + jax.lax.dynamic_slice_in_dim(table, offset, length)[None].astype(x.dtype)

  def attend(self, x: jax.Array) -> jax.Array:
    """Tied output layer: logits = x Eᵀ (B, T, vocab)."""
    return self.embed.attend(x)


class FeedForward(nn.Module):
  """LAY-34, d_model -> d_ff -> d_model with `activation` (relu, gelu, ...) in between."""
  d_ff: int
  activation: str = "relu"
  dropout_rate: float = 0.0
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    h = get_activation(self.activation)(nn.Dense(self.d_ff, dtype=self.dtype, name="dense_1")(x))
    h = nn.Dropout(self.dropout_rate, deterministic=not train)(h)
    return nn.Dense(x.shape[-1], dtype=self.dtype, name="dense_2")(h)


class Residual(nn.Module):
  """Wraps one sublayer: post-LN (LAY-35) or pre-LN. `fn(h) -> (y, extra)`."""
  pre_ln: bool = False
  dropout_rate: float = 0.0
  dtype: Any = None  # LayerNorm's output dtype (its statistics are float32)

  @nn.compact
  def __call__(self, x, fn, train: bool = False):
    norm = nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="norm")
    y, extra = fn(norm(x) if self.pre_ln else x)
    x = x + nn.Dropout(self.dropout_rate, deterministic=not train)(y)
    return (x if self.pre_ln else norm(x)), extra


class EncoderLayer(nn.Module):
  """LAY-36: self-attention + FFN, each a residual sublayer. With a causal mask (and a cache
  while decoding) it is the decoder-only (GPT) block."""
  static_argnums = (3, 5)  # `train`, `return_weights` (0 is self), for `nn.remat`
  num_heads: int
  d_ff: int
  dropout_rate: float = 0.1
  pre_ln: bool = False
  activation: str = "relu"
  dtype: Any = None  # compute dtype of every sublayer (bfloat16: mixed precision)

  @nn.compact
  def __call__(self, x, mask=None, train: bool = False, cache: KVCache | None = None,
               return_weights: bool = False):
    attend = MultiHeadAttention(self.num_heads, dtype=self.dtype, name="self_attention")
    x, attended = Residual(self.pre_ln, self.dropout_rate, self.dtype, name="attention_block")(
        x, lambda h: _split(attend(h, None, mask, cache, return_weights)), train)
    return _ffn_sublayer(self, x, train), attended


class DecoderLayer(nn.Module):
  """LAY-37: causal self-attention, cross-attention over the encoder states (queries from the
  decoder, keys and values from the encoder, LAY-33), then the FFN."""
  static_argnums = (5, 7)  # `train`, `return_weights`
  num_heads: int
  d_ff: int
  dropout_rate: float = 0.1
  pre_ln: bool = False
  activation: str = "relu"
  dtype: Any = None

  @nn.compact
  def __call__(self, x, memory, self_mask=None, memory_mask=None, train: bool = False,
               cache: KVCache | None = None, return_weights: bool = False):
    self_attend = MultiHeadAttention(self.num_heads, dtype=self.dtype, name="self_attention")
    x, (self_weights, cache) = Residual(self.pre_ln, self.dropout_rate, self.dtype,
                                        name="self_block")(
        x, lambda h: _split(self_attend(h, None, self_mask, cache, return_weights)), train)
    cross_attend = MultiHeadAttention(self.num_heads, dtype=self.dtype, name="cross_attention")
    x, (cross_weights, _) = Residual(self.pre_ln, self.dropout_rate, self.dtype,
                                     name="cross_block")(
        x, lambda h: _split(cross_attend(h, memory, memory_mask, None, return_weights)), train)
    return _ffn_sublayer(self, x, train), (self_weights, cross_weights, cache)


def layer_class(cls: type, remat: bool) -> type:
  """`cls` (EncoderLayer or DecoderLayer), or with `remat` its `nn.remat` version: the block's
  activations are not kept for the backward pass but recomputed from its input
  (`jax.checkpoint` per block), trading about one more forward pass for activation memory
  that no longer grows with the number of layers. Parameters and results are unchanged. Call
  the layers with every argument positional (`nn.remat` marks `train` by position)."""
  return nn.remat(cls, static_argnums=cls.static_argnums) if remat else cls


def _ffn_sublayer(layer, x, train: bool):
  """The position-wise FFN of an encoder or decoder layer, as its residual sublayer."""
  ffn = FeedForward(layer.d_ff, layer.activation, layer.dropout_rate, layer.dtype, name="ffn")
  x, _ = Residual(layer.pre_ln, layer.dropout_rate, layer.dtype, name="ffn_block")(
      x, lambda h: (ffn(h, train), None), train)
  return x


def _split(attended):
  """Attended -> (output, (weights, cache)) for `Residual`."""
  return attended.output, (attended.weights, attended.cache)
