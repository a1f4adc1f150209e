"""Seq2seq encoder-decoder for translation (ARC-21, GEN-6), with no attention, Bahdanau
(LAY-27) or Luong (LAY-28) attention, on the seed GRU cell (LAY-40).

Encoder: source embeddings -> bidirectional GRU (LAY-41) over the real tokens -> states
h_j = [→h_j ; ←h_j]; the decoder starts from s_0 = tanh(W_s [→h_S ; ←h_1]).
Decoder step i (input y_{i−1}, the previous target token; teacher forcing in training):
  attention='none'      c = [→h_S ; ←h_1] for every i (the fixed-vector bottleneck of 000 §3.5.2)
                        s_i = GRU([E y_{i−1} ; c], s_{i−1})
  'bahdanau'            c_i, α_i = attend(s_{i−1}) with e_ij = v_aᵀ tanh(W_a h_j + U_a s_{i−1})
                        s_i = GRU([E y_{i−1} ; c_i], s_{i−1})
  'luong', index 'prev' (seed 000 §4.1.3): e_ij = s_{i−1}ᵀ W_a h_j, then as Bahdanau
  'luong', index 'current' (Luong et al. 2015): s_i = GRU(E y_{i−1}, s_{i−1}),
                        e_ij = s_iᵀ W_a h_j (or sᵀh for score 'dot'), h̃_i = tanh(W_c [c_i ; s_i])
  logits_i = W_o dropout(tanh(W_r [s_i ; c_i ; E y_{i−1}]))   (Luong 'current': W_o h̃_i)

`encode(src) -> carry` and `step(carry, tokens) -> (carry, logits)` are the decoders' step
interface (`dlcore.decode`): the carry holds s and the encoder states, so beam search tiles it.
`__call__(src, tgt_in, train, return_attention)` runs the teacher-forced decoder with `nn.scan`.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.nn.attention import BahdanauAttention, LuongAttention
from dlcore.nn.recurrent import make_cell
from dlcore.nn.rnn import Bidirectional

ATTENTIONS = ("none", "bahdanau", "luong")
INDEXES = ("prev", "current")


class Decoder(nn.Module):
  vocab_size: int
  embed_dim: int
  hidden: int
  attention: str = "bahdanau"
  luong_score: str = "general"
  attention_index: str = "prev"
  attention_dim: int = 256
  readout_dim: int = 256
  dropout_rate: float = 0.0

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.embed_dim, name="embed")
    self.cell = make_cell("gru", self.hidden, name="cell")
    if self.attention == "bahdanau":
      self.attend = BahdanauAttention(self.attention_dim, name="attention")
    elif self.attention == "luong":
      self.attend = LuongAttention(self.luong_score, name="attention")
    self.current = self.attention == "luong" and self.attention_index == "current"
    if self.current:
      self.W_c = nn.Dense(self.hidden, name="W_c")
    else:
      self.readout = nn.Dense(self.readout_dim, name="readout")
    self.output = nn.Dense(self.vocab_size, name="output")
    self.drop = nn.Dropout(self.dropout_rate)

  def keys(self, h):
    if self.attention == "bahdanau":
      return self.attend.keys(h)
    return self.attend.keys(h, self.hidden)

  def __call__(self, carry, token, train: bool = False):
    """One step: (carry, y_{i−1} (B,)) -> (carry, (logits (B, V), α (B, S)))."""
    s = carry["s"]
    emb = self.drop(self.embed(token), deterministic=not train)
    if self.attention == "none":
      c, alpha = carry["context"], jnp.zeros(token.shape + (1,), jnp.float32)
    elif not self.current:
      c, alpha = self.attend(s, carry["keys"], carry["values"], carry["mask"])
    if self.current:
      s, _ = self.cell(s, self.cell.project(emb))
      c, alpha = self.attend(s, carry["keys"], carry["values"], carry["mask"])
      feat = jnp.tanh(self.W_c(jnp.concatenate([c, s], -1)))
    else:
      s, _ = self.cell(s, self.cell.project(jnp.concatenate([emb, c], -1)))
      feat = jnp.tanh(self.readout(jnp.concatenate([s, c, emb], -1)))
    logits = self.output(self.drop(feat, deterministic=not train))
    return dict(carry, s=s), (logits, alpha)


class Encoder(nn.Module):
  vocab_size: int
  embed_dim: int
  hidden: int
  dropout_rate: float = 0.0

  @nn.compact
  def __call__(self, src, lengths, train: bool = False):
    x = nn.Embed(self.vocab_size, self.embed_dim, name="embed")(src)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    outputs, (fw, bw) = Bidirectional("gru", self.hidden, name="rnn")(x, lengths)
    return outputs, jnp.concatenate([fw, bw], -1)


def _decode_scan(decoder, carry, token, train):
  return decoder(carry, token, train)


@MODELS.register("seq2seq")
class Seq2Seq(nn.Module):
  num_outputs: int  # target vocabulary size
  src_vocab_size: int = 0  # set by the task from its vocabularies
  embed_dim: int = 256
  hidden: int = 256  # encoder GRU units per direction
  dec_hidden: int = 256
  attention: str = "bahdanau"
  luong_score: str = "general"
  attention_index: str = "prev"
  attention_dim: int = 256
  readout_dim: int = 256
  dropout_rate: float = 0.3
  pad_id: int = 0

  @classmethod
  def check_fields(cls, fields: dict) -> None:
    if int(fields.get("src_vocab_size", 0)) < 1:
      raise ConfigError("seq2seq needs model.src_vocab_size >= 1 (the task sets it).")
    if fields.get("attention", "bahdanau") not in ATTENTIONS:
      raise ConfigError(f"model.attention={fields.get('attention')!r} is unknown; use one of "
                        f"{', '.join(ATTENTIONS)}.")
    if fields.get("attention_index", "prev") not in INDEXES:
      raise ConfigError(f"model.attention_index={fields.get('attention_index')!r} is unknown; "
                        f"use 'prev' (s_(i-1), the seed) or 'current' (s_i, Luong et al.).")

  def setup(self):
    self.encoder = Encoder(self.src_vocab_size, self.embed_dim, self.hidden, self.dropout_rate,
                           name="encoder")
    self.bridge = nn.Dense(self.dec_hidden, name="bridge")
    self.decoder = Decoder(self.num_outputs, self.embed_dim, self.dec_hidden, self.attention,
                           self.luong_score, self.attention_index, self.attention_dim,
                           self.readout_dim, self.dropout_rate, name="decoder")

  def encode(self, src, train: bool = False) -> dict:
    src = jnp.asarray(src, jnp.int32)
    mask = src != self.pad_id
    outputs, final = self.encoder(src, mask.sum(-1), train)
    carry = {"s": jnp.tanh(self.bridge(final))}
    if self.attention == "none":
      carry["context"] = final
    else:
      carry.update(keys=self.decoder.keys(outputs), values=outputs, mask=mask)
    return carry

  def step(self, carry, tokens):
    carry, (logits, _) = self.decoder(carry, tokens, False)
    return carry, logits

  def __call__(self, src, tgt_in, train: bool = False, return_attention: bool = False):
    carry = self.encode(src, train)
    scan = nn.scan(_decode_scan, variable_broadcast="params",
                   split_rngs={"params": False, "dropout": True}, in_axes=(1, nn.broadcast),
                   out_axes=1)
    _, (logits, alpha) = scan(self.decoder, carry, jnp.asarray(tgt_in, jnp.int32), train)
    return (logits, alpha) if return_attention else logits
