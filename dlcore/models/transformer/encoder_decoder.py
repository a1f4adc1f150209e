"""The Transformer encoder-decoder for translation (ARC-22; LAY-24, 31..37; Vaswani et al. 2017).

  src (B, S) -> E_src x · √d_model + PE -> dropout -> N x encoder layer   -> memory (B, S, d)
  tgt_in (B, T) -> E_tgt y · √d_model + PE -> dropout
       -> N x decoder layer [causal self-attention, cross-attention over memory, FFN]
       -> Dense -> logits (B, T, V_tgt)

The seed's settings are the defaults: post-LN, ReLU FFN with d_ff = 4 d_model, sinusoidal
positions, h heads of d_model / h; pre-LN, GELU and learned positions are options, and
`share_embeddings` ties the source and target embeddings and the output layer (Eᵀ) into one
table, for one vocabulary shared by both sides (T5). Padding
(`pad_id`) is masked as a key in every attention; the decoder's self-attention is causal.

The translation trainer's interface (as `seq2seq`):
  __call__(src, tgt_in, train, return_attention) -> logits, or (logits, α (B, T, S)) with α
      the last decoder layer's cross-attention averaged over the heads (for heatmaps)
  encode(src) -> carry {memory, memory_mask, caches}  (per-layer self-attention KV caches of
      max_len positions)
  step(carry, tokens (B,)) -> (carry, logits (B, V))   one target token, incremental
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.transformer import check_transformer_fields
from dlcore.nn.multi_head_attention import KVCache, causal_mask, padding_mask
from dlcore.nn.transformer import DecoderLayer, Embedder, EncoderLayer, layer_class


@MODELS.register("transformer")
class Transformer(nn.Module):
  num_outputs: int  # target vocabulary size
  src_vocab_size: int = 0  # set by the task from its vocabularies
  num_layers: int = 3  # N, for the encoder and the decoder each
  num_heads: int = 8
  d_model: int = 256
  d_ff: int = 0  # 0: 4 d_model
  max_len: int = 128  # positions (and the decoding caches)
  dropout_rate: float = 0.1
  positions: str = "sinusoidal"
  pre_ln: bool = False
  activation: str = "relu"
  pad_id: int = 0
  share_embeddings: bool = False  # one table for source, target and output (T5; one vocabulary)
  remat: bool = False  # recompute each layer's activations in the backward pass (layer_class)

  attention = "multi_head"  # the trainer draws heatmaps of models with attention

  @classmethod
  def check_fields(cls, fields: dict) -> None:
    check_transformer_fields("transformer", fields, "src_vocab_size", 256, 8)
    if fields.get("share_embeddings") and int(fields["src_vocab_size"]) != int(
        fields["num_outputs"]):
      raise ConfigError(f"model.share_embeddings needs one vocabulary for both sides; the "
                        f"source has {fields['src_vocab_size']} tokens and the target "
                        f"{fields['num_outputs']}.")

  def setup(self):
    d_ff = self.d_ff or 4 * self.d_model
    layer = dict(num_heads=self.num_heads, d_ff=d_ff, dropout_rate=self.dropout_rate,
                 pre_ln=self.pre_ln, activation=self.activation)
    self.src_embed = Embedder(self.src_vocab_size, self.d_model, self.max_len, self.positions,
                              name="src_embed")
    self.tgt_embed = self.src_embed if self.share_embeddings else Embedder(
        self.num_outputs, self.d_model, self.max_len, self.positions, name="tgt_embed")
    encoder, decoder = (layer_class(c, self.remat) for c in (EncoderLayer, DecoderLayer))
    self.encoder = [encoder(**layer, name=f"encoder_{i}") for i in range(self.num_layers)]
    self.decoder = [decoder(**layer, name=f"decoder_{i}") for i in range(self.num_layers)]
    if self.pre_ln:
      self.encoder_norm = nn.LayerNorm(epsilon=1e-6, name="encoder_norm")
      self.decoder_norm = nn.LayerNorm(epsilon=1e-6, name="decoder_norm")
    self.output = self.src_embed.attend if self.share_embeddings else nn.Dense(
        self.num_outputs, name="output")
    self.drop = nn.Dropout(self.dropout_rate)

  def encode(self, src, train: bool = False) -> dict:
    src = jnp.asarray(src, jnp.int32)
    valid = src != self.pad_id
    x = self.drop(self.src_embed(src), deterministic=not train)
    for layer in self.encoder:
      x, _ = layer(x, padding_mask(valid), train, None, False)  # all positional (remat)
    if self.pre_ln:
      x = self.encoder_norm(x)
    d_k = self.d_model // self.num_heads
    caches = tuple(KVCache.zeros(src.shape[0], self.max_len, self.num_heads, d_k)
                   for _ in range(self.num_layers))
    return {"memory": x, "memory_mask": valid, "caches": caches}

  def _decode(self, carry, tgt, train: bool, caches=None, return_weights: bool = False):
    offset = 0 if caches is None else caches[0].index[0]
    x = self.drop(self.tgt_embed(tgt, offset), deterministic=not train)
    self_mask = None if caches is not None else causal_mask(tgt.shape[1])
    memory_mask = padding_mask(carry["memory_mask"])
    new_caches, cross = [], None
    for i, layer in enumerate(self.decoder):
      x, (_, cross, cache) = layer(x, carry["memory"], self_mask, memory_mask, train,
                                   None if caches is None else caches[i], return_weights)
      new_caches.append(cache)
    if self.pre_ln:
      x = self.decoder_norm(x)
    return self.output(x), tuple(new_caches), cross

  def step(self, carry, tokens):
    logits, caches, _ = self._decode(carry, tokens[:, None], False, carry["caches"])
    return dict(carry, caches=caches), logits[:, 0]

  def __call__(self, src, tgt_in, train: bool = False, return_attention: bool = False):
    carry = self.encode(src, train)
    logits, _, cross = self._decode(carry, jnp.asarray(tgt_in, jnp.int32), train,
                                    return_weights=return_attention)
    return (logits, cross.mean(1)) if return_attention else logits
