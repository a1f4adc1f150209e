"""BERT's masked-language-model corruption (LOSS-21), as a pure JAX function for the jitted step.

In every row, exactly k = round(rate · n) of its n maskable tokens are chosen (at least one when
n > 0), uniformly at random; of the chosen, round(0.8 k) become [MASK], round(0.1 k) a random
ordinary token (ids >= `first_ordinary`), and the rest stay unchanged. The model must predict
the original token at every chosen position (`weights` 1 there, 0 elsewhere). Special tokens
([CLS], [SEP], <pad>) are never chosen: `maskable` is False for them.

The choice comes from a random ranking of the maskable positions (argsort of uniform scores):
ranks 0..k_mask−1 are masked, the next k_random are replaced, the next ones up to k are kept, so
the three groups are disjoint and exactly sized in every row.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

MASK_ID = 4  # `dlcore.data.text.vocab.RESERVED[0]`
FIRST_ORDINARY = 7  # after the 4 specials and 3 reserved tokens


def mask_counts(n: jax.Array, rate: float = 0.15) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(chosen, masked, randomised) counts for rows of n maskable tokens."""
  k = jnp.where(n > 0, jnp.maximum(jnp.round(rate * n), 1), 0).astype(jnp.int32)
  k_mask = jnp.round(0.8 * k).astype(jnp.int32)
  k_random = jnp.minimum(jnp.round(0.1 * k).astype(jnp.int32), k - k_mask)
  return k, k_mask, k_random


def mask_tokens(key: jax.Array, ids: jax.Array, maskable: jax.Array, vocab_size: int,
                rate: float = 0.15, mask_id: int = MASK_ID,
                first_ordinary: int = FIRST_ORDINARY):
  """(inputs, targets, weights), each (B, T): the corrupted ids, the original ids, and 1.0 at
  the chosen positions (module docstring)."""
  rank_key, token_key = jax.random.split(key)
  ids = jnp.asarray(ids, jnp.int32)
  maskable = jnp.asarray(maskable, bool)
  scores = jnp.where(maskable, jax.random.uniform(rank_key, ids.shape), 2.0)
  rank = jnp.argsort(jnp.argsort(scores, axis=-1), axis=-1)  # the rank of each position
  k, k_mask, k_random = (c[:, None] for c in mask_counts(maskable.sum(-1), rate))
  chosen = (rank < k) & maskable
  random_ids = jax.random.randint(token_key, ids.shape, first_ordinary, vocab_size)
  inputs = jnp.where(rank < k_mask, mask_id,
                     jnp.where(rank < k_mask + k_random, random_ids, ids))
  inputs = jnp.where(chosen, inputs, ids)
  return inputs, ids, chosen.astype(jnp.float32)
