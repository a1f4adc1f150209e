"""RNN text classifier (ARC-18 `SimpleLSTM`, ARC-17/19/20; exercise 002 §11.2.3).

  tokens (B, T) -> Embedding (LAY-23) -> dropout -> StackedRNN (cell, layers, bidirectional)
         -> readout -> dropout -> Dense -> logits (B, num_outputs)

Lengths are the count of non-pad tokens of each row (padding is at the end), so padded batches
give the same logits as unpadded ones. Word dropout (`word_dropout`, training only) replaces
each real token by <unk> with that probability, as in the flax sst2 example.
Readouts of the top layer's outputs h_1..h_L:
  last       the final state at the true last step (LAY-42; bidirectional: [→h_L ; ←h_1])
  max/mean   max or mean over the real steps
  attention  keys-only additive attention pooling: e_t = vᵀ tanh(W h_t), α = softmax over the
             real steps, c = Σ_t α_t h_t (the pooling of the flax sst2 example)
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.nn.recurrent import CELLS, RNNOutput
from dlcore.nn.rnn import StackedRNN, sequence_mask

READOUTS = ("last", "max", "mean", "attention")


def cell_options(cell: str, forget_bias: float, activation: str) -> tuple:
  """The hashable options of `cell`: forget_bias for the LSTM, activation for the RNN."""
  return {"lstm": (("forget_bias", float(forget_bias)),),
          "rnn": (("activation", activation),)}.get(cell, ())


def pool(outputs: jnp.ndarray, lengths: jnp.ndarray, how: str, final_h: jnp.ndarray,
         attention: Any = None) -> jnp.ndarray:
  """One vector per example from (B, T, H) outputs over the real steps (see module docstring)."""
  valid = sequence_mask(lengths, outputs.shape[1])[..., None]
  if how == "last":
    return final_h
  if how == "max":  # an all-padding row (a padded eval row) pools to 0, not -inf
    pooled = jnp.where(valid, outputs, -jnp.inf).max(axis=1)
    return jnp.where(lengths[:, None] > 0, pooled, 0.0)
  if how == "mean":
    return (outputs * valid).sum(1) / jnp.maximum(lengths, 1)[:, None].astype(outputs.dtype)
  scores = jnp.where(valid[..., 0], attention(outputs)[..., 0], -1e30)
  weights = jax.nn.softmax(scores, axis=-1) * valid[..., 0]
  return jnp.einsum("bt,bth->bh", weights, outputs)


@MODELS.register("rnn_classifier")
class RNNClassifier(nn.Module):
  num_outputs: int
  vocab_size: int = 0  # set by the task from its vocabulary
  embed_dim: int = 128
  cell: str = "lstm"
  hidden: int = 128
  num_layers: int = 1
  bidirectional: bool = False
  readout: str = "last"
  dropout_rate: float = 0.0  # on the embeddings, between layers and before the output layer
  word_dropout: float = 0.0  # training: each real token becomes <unk> with this probability
  unk_id: int = 1
  forget_bias: float = 0.0  # LSTM b_f initial value
  activation: str = "tanh"  # σ_h of the simple RNN cell
  output_activation: str = "identity"  # σ_y of y = σ_y(W_y h + b_y); identity: logits
  pad_id: int = 0

  @classmethod
  def check_fields(cls, fields: dict) -> None:
    if int(fields.get("vocab_size", 0)) < 1:
      raise ConfigError("rnn_classifier needs model.vocab_size >= 1 (the task sets it from the "
                        "vocabulary).")
    if fields.get("readout", "last") not in READOUTS:
      raise ConfigError(f"model.readout={fields.get('readout')!r} is unknown; use one of "
                        f"{', '.join(READOUTS)}.")
    CELLS.get(fields.get("cell", "lstm"))

  @nn.compact
  def __call__(self, tokens: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    tokens = jnp.asarray(tokens, jnp.int32)
    lengths = (tokens != self.pad_id).sum(axis=-1)
    drop = lambda x: nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    if train and self.word_dropout > 0:
      dropped = jax.random.bernoulli(self.make_rng("dropout"), self.word_dropout, tokens.shape)
      tokens = jnp.where(dropped & (tokens != self.pad_id), self.unk_id, tokens)
    x = drop(nn.Embed(self.vocab_size, self.embed_dim, name="embed")(tokens))
    outputs, carries = StackedRNN(self.cell, self.hidden, self.num_layers, self.bidirectional,
                                  self.dropout_rate,
                                  cell_options(self.cell, self.forget_bias, self.activation),
                                  name="rnn")(x, lengths, train)
    top = carries[-1]
    out = CELLS.get(self.cell).output
    final_h = (jnp.concatenate([out(top[0]), out(top[1])], -1) if self.bidirectional
               else out(top))
    attention = None
    if self.readout == "attention":
      attention = nn.Sequential([nn.Dense(outputs.shape[-1], name="attention_hidden"), jnp.tanh,
                                 nn.Dense(1, use_bias=False, name="attention_score")])
    h = pool(outputs, lengths, self.readout, final_h, attention)
    return RNNOutput(self.num_outputs, self.output_activation, name="output")(drop(h))
