"""Attention over encoder states for seq2seq decoders (curriculum LAY-27, LAY-28; §0 item 11).

With encoder states h_1..h_S (B, S, D_h), decoder state s (B, D_s) and a mask of the real source
positions:

  Bahdanau (additive)       e_j = v_aᵀ tanh(W_a h_j + U_a s)
  Luong 'general'           e_j = sᵀ W_a h_j
  Luong 'dot'               e_j = sᵀ h_j            (needs D_s = D_h)
  α_j = exp(e_j) / Σ_k exp(e_k) over the real positions,   c = Σ_j α_j h_j

Which decoder state s is (s_{i−1} as in the seed 000 §4.1.2–4.1.3, or s_i as in Luong et al.
2015) is the decoder's choice (`dlcore.models.sequence.seq2seq`). The parts that depend only on
the encoder (W_a h_j) are computed once per source sentence by `keys(h)`, not at every output
step. Each call returns (c, α) so the weights can be drawn as a heatmap.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError

LUONG_SCORES = ("dot", "general")


def masked_softmax(scores: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
  """softmax over the last axis restricted to mask == True (masked entries get weight 0)."""
  scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
  return jax.nn.softmax(scores, axis=-1) * mask


class BahdanauAttention(nn.Module):
  """LAY-27 additive attention with `features` hidden units (the size of v_a)."""
  features: int

  def setup(self):
    self.W_a = nn.Dense(self.features, use_bias=False, name="W_a")
    self.U_a = nn.Dense(self.features, use_bias=True, name="U_a")
    self.v_a = nn.Dense(1, use_bias=False, name="v_a")

  def keys(self, h: jnp.ndarray) -> jnp.ndarray:
    return self.W_a(h)

  def __call__(self, s, keys, values, mask):
    e = self.v_a(jnp.tanh(keys + self.U_a(s)[:, None, :]))[..., 0]
    alpha = masked_softmax(e, mask)
    return jnp.einsum("bs,bsd->bd", alpha, values), alpha


class LuongAttention(nn.Module):
  """LAY-28 multiplicative attention: score 'general' (sᵀ W_a h_j) or 'dot' (sᵀ h_j)."""
  score: str = "general"

  @nn.compact
  def keys(self, h: jnp.ndarray, query_features: int) -> jnp.ndarray:
    """W_a h_j (general: a (D_h -> D_s) map) or h_j itself (dot)."""
    if self.score not in LUONG_SCORES:
      raise ConfigError(f"Luong attention score {self.score!r} is unknown; use one of "
                        f"{', '.join(LUONG_SCORES)}.")
    if self.score == "dot":
      if h.shape[-1] != query_features:
        raise ConfigError(f"Luong 'dot' attention needs the decoder state size "
                          f"({query_features}) to equal the encoder state size ({h.shape[-1]}); "
                          f"use score='general' or matching sizes.")
      return h
    return nn.Dense(query_features, use_bias=False, name="W_a")(h)

  def __call__(self, s, keys, values, mask):
    e = jnp.einsum("bd,bsd->bs", s, keys)
    alpha = masked_softmax(e, mask)
    return jnp.einsum("bs,bsd->bd", alpha, values), alpha
