"""BERT (ARC-23; LOSS-21): a Transformer encoder over [CLS] A [SEP] (B [SEP]) with segment
embeddings, pretrained by masked-language modelling and next-sentence prediction.

  tokens, segments (B, T) -> token E[x] + segment S[s] + learned position P[t] -> LayerNorm
        -> dropout -> num_layers x post-LN encoder layer (GELU FFN, padding masked)
        -> states h (B, T, d);  pooled = tanh(W_p h_[CLS] + b_p)

`BertEncoder` is that trunk (the part a fine-tuning run warm-starts, subtree 'bert').
`BERT` ('bert') adds the pretraining heads: MLM logits (B, T, V) = LayerNorm(GELU(W h)) Eᵀ + b
(the output layer tied to the token embedding) and NSP logits (B, 2) from the pooled [CLS]
(class 1 = B follows A). `BertClassifier` ('bert_classifier') puts dropout and one Dense layer
on the pooled [CLS] for fine-tuning on labelled sentences (SST-2); its inputs are token ids that
start with [CLS], and the segments are all 0.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.models import MODELS
from dlcore.models.transformer import check_transformer_fields
from dlcore.nn.multi_head_attention import padding_mask
from dlcore.nn.transformer import EncoderLayer, check_length, layer_class


class BertEncoder(nn.Module):
  vocab_size: int
  num_layers: int = 4
  num_heads: int = 4
  d_model: int = 128
  d_ff: int = 0  # 0: 4 d_model
  max_len: int = 128
  dropout_rate: float = 0.1
  num_segments: int = 2
  pad_id: int = 0
  remat: bool = False  # recompute each layer's activations in the backward pass (layer_class)

  def setup(self):
    init = nn.initializers.normal(0.02)
    self.token_embed = nn.Embed(self.vocab_size, self.d_model, embedding_init=init,
                                name="token_embed")
    self.segment_embed = nn.Embed(self.num_segments, self.d_model, embedding_init=init,
                                  name="segment_embed")
    self.position_table = self.param("position_table", init, (self.max_len, self.d_model))
    self.embed_norm = nn.LayerNorm(epsilon=1e-12, name="embed_norm")
    self.drop = nn.Dropout(self.dropout_rate)
    layer = layer_class(EncoderLayer, self.remat)
    self.layers = [layer(self.num_heads, self.d_ff or 4 * self.d_model, self.dropout_rate, False,
                         "gelu", name=f"layer_{i}") for i in range(self.num_layers)]
    self.pooler = nn.Dense(self.d_model, name="pooler")

  def __call__(self, tokens, segments=None, train: bool = False, return_weights: bool = False):
    """(states (B, T, d), pooled (B, d), per-layer attention weights or Nones)."""
    tokens = jnp.asarray(tokens, jnp.int32)
    check_length(tokens.shape[1], self.max_len)
    segments = jnp.zeros_like(tokens) if segments is None else jnp.asarray(segments, jnp.int32)
    x = (self.token_embed(tokens) + self.segment_embed(segments)
         + self.position_table[None, :tokens.shape[1]])
    x = self.drop(self.embed_norm(x), deterministic=not train)
    mask = padding_mask(tokens != self.pad_id)
    weights = []
    for layer in self.layers:
      x, (w, _) = layer(x, mask, train, None, return_weights)
      weights.append(w)
    return x, jnp.tanh(self.pooler(x[:, 0])), weights

  def attend(self, x):
    return self.token_embed.attend(x)


class BertFields(nn.Module):
  """The fields of both BERT models (the encoder's sizes); `bert()` builds their encoder."""
  num_outputs: int
  vocab_size: int = 0
  num_layers: int = 4
  num_heads: int = 4
  d_model: int = 128
  d_ff: int = 0
  max_len: int = 128
  dropout_rate: float = 0.1
  remat: bool = False

  @classmethod
  def check_fields(cls, fields: dict) -> None:
    check_transformer_fields("BERT", fields)

  def bert(self) -> BertEncoder:
    return BertEncoder(self.vocab_size, self.num_layers, self.num_heads, self.d_model,
                       self.d_ff, self.max_len, self.dropout_rate, remat=self.remat,
                       name="bert")


@MODELS.register("bert")
class BERT(BertFields):
  """The pretraining model: (MLM logits (B, T, V) or (B, P, V), NSP logits (B, 2));
  num_outputs is the vocabulary size (the MLM softmax)."""

  @nn.compact
  def __call__(self, tokens, segments=None, train: bool = False, positions=None):
    """`positions` (B, P): compute the MLM logits (B, P, V) at these positions only (the
    masked ones; the output layer is most of a small BERT's cost), instead of at all T."""
    bert = self.bert()
    states, pooled, _ = bert(tokens, segments, train)
    if positions is not None:
      states = jnp.take_along_axis(states, positions[..., None], axis=1)
    h = nn.LayerNorm(epsilon=1e-12, name="mlm_norm")(
        nn.gelu(nn.Dense(self.d_model, name="mlm_dense")(states), approximate=False))
    mlm = bert.attend(h) + self.param("mlm_bias", nn.initializers.zeros, (self.vocab_size,))
    return mlm, nn.Dense(2, name="nsp")(pooled)


@MODELS.register("bert_classifier")
class BertClassifier(BertFields):
  """Fine-tuning: logits (B, num_outputs) from the pooled [CLS] of `BertEncoder`."""

  @nn.compact
  def __call__(self, tokens, train: bool = False):
    _, pooled, _ = self.bert()(tokens, None, train)
    pooled = nn.Dropout(self.dropout_rate, deterministic=not train)(pooled)
    return nn.Dense(self.num_outputs, name="classifier")(pooled)
