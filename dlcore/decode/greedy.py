"""Greedy search decoding (GEN-1): y_t = argmax_v p(v | y_<t, x), one `lax.scan` over output
positions.

The model is seen only through a step function, so the same decoder serves an RNN (the carry is
its hidden state) and a Transformer (the carry is its key/value cache)::

  step_fn(carry, tokens_t) -> (carry, logits_t)      tokens_t: (B,) int32, logits_t: (B, V)
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp


def greedy_decode(step_fn: Callable[[Any, jax.Array], tuple[Any, jax.Array]], carry: Any,
                  start: jax.Array, length: int, end_token: int | None = None) -> jax.Array:
  """(B, length) int32 tokens: each the argmax of the step's logits fed back as the next input.

  After `end_token` a sequence keeps emitting `end_token` (so finished rows stay finished).
  """
  start = jnp.asarray(start, jnp.int32)

  def body(state, _):
    carry, tokens, done = state
    carry, logits = step_fn(carry, tokens)
    nxt = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    if end_token is not None:
      nxt = jnp.where(done, jnp.int32(end_token), nxt)
      done = done | (nxt == end_token)
    return (carry, nxt, done), nxt

  done = jnp.zeros(start.shape, bool)
  _, out = jax.lax.scan(body, (carry, start, done), None, length=length)
  return out.T
