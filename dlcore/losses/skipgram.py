"""Skip-gram objectives (LOSS-19; ARC-37, ARC-39), per (centre, context) pair, from the scores
s = u_centreᵀ v of `dlcore.models.skipgram.SkipGram`:

  full softmax         -log p(o | c) = -s_o + log Σ_w exp(s_w)                (ARC-37, eq. 76)
  negative sampling    -log σ(s_o) - Σ_{i=1..k} log σ(-s_{n_i}),  n_i ~ P_n    (ARC-39, eq. 77)

with the noise distribution P_n(w) ∝ count(w)^0.75 (word2vec's; for random walks on an
undirected graph a node's expected count is proportional to its degree). Negatives are drawn
by inverting the cumulative distribution (`sample_negatives`), O(log V) per draw, so a step's
hundreds of thousands of draws do not build a [draws, V] table.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def noise_distribution(counts, power: float = 0.75) -> np.ndarray:
  """P_n ∝ counts^power, float32."""
  weights = np.asarray(counts, np.float64) ** power
  return (weights / weights.sum()).astype(np.float32)


def sample_negatives(key: jax.Array, probs: jax.Array, shape: tuple[int, ...]) -> jax.Array:
  """int32 draws of `shape` from the distribution `probs` [V]."""
  cdf = jnp.cumsum(probs)
  u = jax.random.uniform(key, shape, minval=0.0, maxval=cdf[-1])
  return jnp.minimum(jnp.searchsorted(cdf, u, side="right"), probs.shape[0] - 1).astype(
      jnp.int32)


def negative_sampling_loss(positive: jax.Array, negative: jax.Array) -> jax.Array:
  """Per pair: -log σ(s_o) - Σ_k log σ(-s_nk), `positive` [...] the context's score,
  `negative` [..., k] the k negatives'."""
  return -jax.nn.log_sigmoid(positive) - jax.nn.log_sigmoid(-negative).sum(-1)


def softmax_skipgram_loss(scores: jax.Array, targets: jax.Array) -> jax.Array:
  """Per pair: scores [..., V] against every item, targets [...] the context ids."""
  return jax.nn.logsumexp(scores, -1) - jnp.take_along_axis(scores, targets[..., None],
                                                            -1)[..., 0]
