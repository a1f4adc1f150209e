"""RNN language model (ARC-17; LAY-38..40 cells, LAY-42 stacking): P(w_t | w_<t) =
softmax(W_y h_t + b_y), h_t from a stacked unidirectional RNN over the embedded tokens.

  __call__(tokens (B, T), carries=None, train) -> (logits (B, T, V), final carries)
  step(carries, tokens (B,)) -> (carries, logits (B, V))   one token: the decoders' step_fn
  prime(prompts (B, P), max_len) -> carries after the prompts (max_len: unused, an RNN has no
                                  length limit; the GPT model shares this interface)
  zero_carries(batch)                                     h_0 = 0 for every layer

`carries` are the per-layer states a truncated-BPTT trainer passes from one batch to the next
(stop-gradiented inside `Recurrence`) and a decoder carries from one generated token to the
next. Dropout (`dropout_rate`) acts on the embeddings, between layers and before the output.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.sequence.classifier import cell_options
from dlcore.nn.recurrent import CELLS, RNNOutput
from dlcore.nn.rnn import StackedRNN, zero_carries


@MODELS.register("rnn_lm")
class RNNLanguageModel(nn.Module):
  num_outputs: int  # the vocabulary size of the output softmax
  vocab_size: int = 0  # set by the task from its vocabulary
  embed_dim: int = 64
  cell: str = "lstm"
  hidden: int = 512
  num_layers: int = 1
  dropout_rate: float = 0.0
  forget_bias: float = 0.0
  activation: str = "tanh"
  output_activation: str = "identity"

  @classmethod
  def check_fields(cls, fields: dict) -> None:
    if int(fields.get("vocab_size", 0)) < 1:
      raise ConfigError("rnn_lm needs model.vocab_size >= 1 (the task sets it from the "
                        "vocabulary).")
    CELLS.get(fields.get("cell", "lstm"))

  def zero_carries(self, batch: int) -> tuple:
    return zero_carries(self.cell, self.hidden, self.num_layers, batch)

  @nn.compact
  def __call__(self, tokens: jnp.ndarray, carries=None, train: bool = False):
    drop = lambda x: nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    x = drop(nn.Embed(self.vocab_size, self.embed_dim, name="embed")(jnp.asarray(tokens,
                                                                                 jnp.int32)))
    if carries is None:
      carries = self.zero_carries(x.shape[0])
    h, carries = StackedRNN(self.cell, self.hidden, self.num_layers, False, self.dropout_rate,
                            cell_options(self.cell, self.forget_bias, self.activation),
                            name="rnn")(x, None, train, carries)
    return RNNOutput(self.num_outputs, self.output_activation, name="output")(drop(h)), carries

  def prime(self, prompts: jnp.ndarray, max_len: int = 0):
    return self(prompts, None, train=False)[1]

  def step(self, carries, tokens: jnp.ndarray):
    logits, carries = self(tokens[:, None], carries, train=False)
    return carries, logits[:, 0]
