"""GPT, the decoder-only Transformer language model (ARC-24; LAY-32 causal mask, LOSS-22, GEN-4).

  tokens (B, T) -> Embedder (token + learned positions) -> dropout
         -> num_layers x [causal self-attention + FFN] (pre-LN by default, as GPT-2 and
            nanoGPT; post-LN with pre_ln=False) -> LayerNorm -> logits (B, T, V)
  (the output layer is the token embedding's transpose when tie_embeddings)

It follows the language-model interface of `rnn_lm` so the same trainer runs both:
  __call__(tokens, carries=None, train) -> (logits, ())  a Transformer carries no state from
                                                        one batch to the next
  prime(prompts, max_len) -> caches holding the prompts, room for max_len positions in all
  step(caches, tokens (B,)) -> (caches, logits (B, V))   one token with the per-layer KV caches
  attention_maps(tokens) -> (logits, per-layer weights (B, H, T, T))

Incremental decoding with the KV caches gives the same logits as recomputing the whole prefix;
max_len bounds both the positions and the caches (a longer input is a `ConfigError`).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.transformer import check_transformer_fields
from dlcore.nn.multi_head_attention import KVCache, causal_mask
from dlcore.nn.transformer import Embedder, EncoderLayer, check_length, layer_class


@MODELS.register("gpt")
class GPT(nn.Module):
  num_outputs: int  # the vocabulary size of the output softmax
  vocab_size: int = 0  # set by the task from its vocabulary
  num_layers: int = 4
  num_heads: int = 4
  d_model: int = 128
  d_ff: int = 0  # 0: 4 d_model
  max_len: int = 256  # the context (block) size
  dropout_rate: float = 0.0
  positions: str = "learned"
  pre_ln: bool = True
  activation: str = "gelu"
  tie_embeddings: bool = True
  dtype: str = "float32"  # compute dtype; 'bfloat16': mixed precision (params stay float32)
  remat: bool = False  # recompute each block's activations in the backward pass (layer_class)

  @classmethod
  def check_fields(cls, fields: dict) -> None:
    check_transformer_fields("gpt", fields)

  def setup(self):
    if self.tie_embeddings and self.num_outputs != self.vocab_size:
      raise ConfigError(f"tied embeddings need as many outputs ({self.num_outputs}) as tokens "
                        f"({self.vocab_size}); set model.tie_embeddings=False.")
    dtype = jnp.dtype(self.dtype)
    self.embedder = Embedder(self.vocab_size, self.d_model, self.max_len, self.positions,
                             scale=False, dtype=dtype, name="embedder")
    self.dropout = nn.Dropout(self.dropout_rate)
    block = layer_class(EncoderLayer, self.remat)
    self.blocks = [block(self.num_heads, self.d_ff or 4 * self.d_model,
                                self.dropout_rate, self.pre_ln, self.activation, dtype,
                                name=f"block_{i}") for i in range(self.num_layers)]
    self.final_norm = (nn.LayerNorm(epsilon=1e-6, dtype=dtype, name="final_norm")
                       if self.pre_ln else None)
    self.head = (None if self.tie_embeddings else
                 nn.Dense(self.num_outputs, use_bias=False, dtype=dtype, name="head"))

  def _run(self, tokens, train: bool, caches=None, return_weights: bool = False):
    offset = 0 if caches is None else caches[0].index[0]
    x = self.dropout(self.embedder(tokens, offset), deterministic=not train)
    mask = causal_mask(tokens.shape[1]) if caches is None else None  # the caches mask
    new_caches, weights = [], []
    for i, block in enumerate(self.blocks):
      x, (w, cache) = block(x, mask, train, None if caches is None else caches[i],
                            return_weights)
      new_caches.append(cache)
      weights.append(w)
    if self.final_norm is not None:
      x = self.final_norm(x)
    logits = self.embedder.attend(x) if self.head is None else self.head(x)
    return logits.astype(jnp.float32), tuple(new_caches), weights  # the loss in float32

  def __call__(self, tokens: jax.Array, carries=None, train: bool = False):
    logits, _, _ = self._run(tokens, train)
    return logits, ()

  def zero_carries(self, batch: int) -> tuple:
    return ()

  def init_caches(self, batch: int, max_len: int) -> tuple:
    check_length(max_len, self.max_len, "generation (prompt + new tokens)")
    d_k = self.d_model // self.num_heads
    return tuple(KVCache.zeros(batch, max_len, self.num_heads, d_k)
                 for _ in range(self.num_layers))

  def prime(self, prompts: jax.Array, max_len: int):
    """The caches after the prompts (B, P), with room for max_len positions in all."""
    _, caches, _ = self._run(prompts, False, self.init_caches(prompts.shape[0], max_len))
    return caches

  def step(self, caches, tokens: jax.Array):
    logits, caches, _ = self._run(tokens[:, None], False, caches)
    return caches, logits[:, 0]

  def attention_maps(self, tokens: jax.Array):
    logits, _, weights = self._run(tokens, False, return_weights=True)
    return logits, weights
