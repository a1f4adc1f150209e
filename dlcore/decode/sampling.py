"""Ancestral sampling with temperature, top-k and nucleus (top-p) filtering (GEN-2).

Each output position t draws y_t ~ softmax(filter(z_t)) with z_t = step_fn's logits, fed back as
the next input (one `lax.scan`, key fold_in(rng, t) at step t). `filter_logits` applies, in order:

  temperature T:  z / T; T == 0 is greedy, exactly: only argmax_v z_v survives (the decoder then
                  takes argmax z directly, identical to `greedy_decode`)
  top-k  (k > 0): keep the k largest logits, the rest -> -inf (ties go to the lower token id, as
                  in `jnp.argmax`, so exactly min(k, V) survive)
  top-p  (p < 1): over the distribution left by top-k, q = softmax(z), sort descending and keep
                  the smallest prefix whose mass reaches p: token i (in sorted order) is kept
                  iff sum_{j<i} q_(j) < p, so the top token is always kept

The model is seen only through `step_fn(carry, tokens_t) -> (carry, logits_t)` as in
`greedy_decode`.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp


def _check(temperature: float, top_k: int, top_p: float) -> None:
  if temperature < 0:
    raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
  if top_k < 0:
    raise ValueError(f"top_k must be >= 0 (0 = no top-k filtering), got {top_k}")
  if not 0 < top_p <= 1:
    raise ValueError(f"top_p must be in (0, 1] (1 = no nucleus filtering), got {top_p}")


def filter_logits(logits: jax.Array, temperature: float = 1.0, top_k: int = 0,
                  top_p: float = 1.0) -> jax.Array:
  """float32 logits (..., V) scaled by 1/temperature with filtered-out entries set to -inf.

  `temperature`, `top_k`, `top_p` are Python statics (see the module docstring for the rule);
  temperature 0 keeps only the argmax, at its unscaled value.
  """
  _check(temperature, top_k, top_p)
  logits = jnp.asarray(logits, jnp.float32)
  v = logits.shape[-1]
  neg = jnp.float32(-jnp.inf)
  if temperature == 0:
    keep = jax.nn.one_hot(jnp.argmax(logits, axis=-1), v, dtype=bool)
    return jnp.where(keep, logits, neg)
  if temperature != 1:
    logits = logits / jnp.float32(temperature)
  k = min(top_k, v) if top_k > 0 else v
  if k == v and top_p >= 1:
    return logits
  order = jnp.argsort(-logits, axis=-1, stable=True)  # descending, ties -> lower id first
  ranked = jnp.take_along_axis(logits, order, axis=-1)
  keep_ranked = jnp.broadcast_to(jnp.arange(v) < k, ranked.shape)
  if top_p < 1:
    q = jax.nn.softmax(jnp.where(keep_ranked, ranked, neg), axis=-1)
    before = jnp.cumsum(q, axis=-1)[..., :-1]  # mass strictly above each rank
    before = jnp.concatenate([jnp.zeros_like(q[..., :1]), before], axis=-1)
    keep_ranked = keep_ranked & (before < top_p)
  keep = jnp.take_along_axis(keep_ranked, jnp.argsort(order, axis=-1), axis=-1)
  return jnp.where(keep, logits, neg)


def sample_decode(step_fn: Callable[[Any, jax.Array], tuple[Any, jax.Array]], carry: Any,
                  start: jax.Array, length: int, rng: jax.Array, temperature: float = 1.0,
                  top_k: int = 0, top_p: float = 1.0, end_token: int | None = None) -> jax.Array:
  """(B, length) int32 tokens sampled from the filtered step distributions (pure, jittable).

  Step t samples with `jax.random.categorical(fold_in(rng, t), filter_logits(...))`, each row
  independently. temperature == 0 is greedy decoding exactly (argmax of the raw logits, rng
  unused). After `end_token` a sequence keeps emitting `end_token`, as in `greedy_decode`.
  """
  _check(temperature, top_k, top_p)
  start = jnp.asarray(start, jnp.int32)

  def body(state, t):
    carry, tokens, done = state
    carry, logits = step_fn(carry, tokens)
    if temperature == 0:
      nxt = jnp.argmax(logits, axis=-1)
    else:
      nxt = jax.random.categorical(jax.random.fold_in(rng, t),
                                   filter_logits(logits, temperature, top_k, top_p), axis=-1)
    nxt = nxt.astype(jnp.int32)
    if end_token is not None:
      nxt = jnp.where(done, jnp.int32(end_token), nxt)
      done = done | (nxt == end_token)
    return (carry, nxt, done), nxt

  done = jnp.zeros(start.shape, bool)
  _, out = jax.lax.scan(body, (carry, start, done), jnp.arange(length, dtype=jnp.int32))
  return out.T
