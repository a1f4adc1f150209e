"""Skip-gram embeddings (ARC-37, ARC-39; DeepWalk ARC-41 and node2vec ARC-42 train it on random
walks, word2vec on sentences): two tables over the `num_outputs` items (words, nodes),

  u = `input` vectors  (the centre item's; the embedding that is used afterwards)
  v = `output` vectors (the context items')

and `model(centres [...], contexts [..., K]) -> scores [..., K] = u_centreᵀ v_context`, the
logits of the full-softmax (K = all items) or negative-sampling objectives
(`dlcore.losses.skipgram`). `model.embed(ids)` gives u. `model.window_scores(sequences, window,
negatives)` scores every (centre, context) pair of sequences [B, L] within `window` positions at
once, by shifting the sequences' v rows instead of gathering one row per pair (B L rows looked up
and updated, not 2w B L), and each centre against its own negatives [B, L, k]. Initialisation as
word2vec: u uniform in ±0.5/d, v zero.

CBOW (ARC-38) uses the same tables: `model.cbow_hidden(contexts [B, C], valid [B, C])` is
h = (1/|valid|) Σ_{valid c} u_c, the mean of the context words' input vectors, and
`model.output_scores(h [B, d], ids [B, K] or None)` gives hᵀv_ids (None: against every item,
[B, V], the full softmax's logits); with h = `embed(centres)` it is skip-gram's.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS


def window_offsets(window: int) -> tuple[int, ...]:
  """-w..-1, 1..w: the context positions relative to the centre."""
  return tuple(o for o in range(-window, window + 1) if o != 0)


def window_valid(length: int, window: int) -> jax.Array:
  """[L, 2w] bool: position i + offset j is inside a sequence of `length`."""
  where = jnp.arange(length)[:, None] + jnp.array(window_offsets(window))[None]
  return (where >= 0) & (where < length)


def _shift(x: jax.Array, offset: int) -> jax.Array:
  """y[:, i] = x[:, i + offset] (zero outside), for x [B, L, d]."""
  length = x.shape[1]
  padded = jnp.pad(x, ((0, 0), (abs(offset), abs(offset)), (0, 0)))
  return padded[:, abs(offset) + offset:abs(offset) + offset + length]


def uniform_init(scale: float):
  """U(-scale, scale), word2vec's initialisation of the input vectors."""
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -scale, scale)
  return init


def check_features(fields, default: int) -> None:
  """ConfigError unless model.features (`default` when absent) is an int >= 1."""
  value = fields.get("features", default)
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ConfigError(f"model.features must be an int >= 1, got {value!r}.")


@MODELS.register("skipgram")
class SkipGram(nn.Module):
  """Centre (`input`) and context (`output`) embedding tables of `features` dimensions."""
  num_outputs: int
  features: int = 128

  @classmethod
  def check_fields(cls, fields):
    check_features(fields, 128)

  def setup(self):
    self.input = nn.Embed(self.num_outputs, self.features,
                          embedding_init=uniform_init(0.5 / self.features))
    self.output = nn.Embed(self.num_outputs, self.features, embedding_init=nn.initializers.zeros)

  def embed(self, ids):
    return self.input(ids)

  def cbow_hidden(self, contexts, valid):
    """[B, d]: the mean input vector of the valid contexts (0 for a row with none)."""
    w = valid.astype(jnp.float32)
    return jnp.einsum("bc,bcd->bd", w, self.input(contexts)) / jnp.maximum(
        w.sum(-1, keepdims=True), 1.0)

  def output_scores(self, hidden, ids=None):
    """hᵀv for the items `ids` [B, K] ([B, K]) or, with None, for all of them ([B, V])."""
    if ids is None:
      return self.output.attend(hidden)
    return jnp.einsum("bd,bkd->bk", hidden, self.output(ids))

  def window_scores(self, sequences, window: int, negatives):
    """(positive [B, L, 2w], negative [B, L, k]): u_centre ᵀ v of the context at each offset of
    `window_offsets` (0 where it falls outside; mask with `window_valid`), and of the negatives."""
    u, v = self.input(sequences), self.output(sequences)
    positive = jnp.stack([(u * _shift(v, o)).sum(-1) for o in window_offsets(window)], -1)
    return positive, jnp.einsum("bld,blkd->blk", u, self.output(negatives))

  def __call__(self, centres, contexts):
    return jnp.einsum("...d,...kd->...k", self.input(centres), self.output(contexts))
