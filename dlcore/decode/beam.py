"""Beam search (GEN-3) over `step_fn(carry, tokens_t) -> (carry, logits_t)`, one `lax.while_loop`.

Each batch row keeps K = beam_size hypotheses Y with their summed log-probs
log P(Y) = sum_t log softmax(z_t)[y_t]. The carry is expanded to B*K rows (every leaf repeated K
times along axis 0, row b*K + k is beam k of batch row b) and regathered by parent beam each step.

Length normalization (GNMT, Wu et al. 2016): score(Y) = log P(Y) / lp(Y),
lp(Y) = ((5 + |Y|) / 6)^alpha with alpha = `length_penalty` (alpha = 0 ranks by raw log P(Y)).
|Y| counts tokens up to and including the first `end_token`; a hypothesis that never emits it
within `length` steps is a valid hypothesis with |Y| = `length`.

Step t (0-based): every beam proposes its V extensions, candidate log-prob log P(Y) + log p(v);
a finished (frozen) beam proposes only `end_token` with log-prob 0, so it is carried unchanged
(emitting `end_token`, as in `greedy_decode`) and never extended. The K best candidates by score
"as if the hypothesis ended now" (frozen beams: their final score; live ones: log P / lp(t + 1))
form the new beam; lax.top_k breaks ties toward the lower (beam, token) index, so beam_size = 1
is exactly `greedy_decode`. Initially only beam 0 is live (the others have log-prob -inf), so no
hypothesis appears twice.

Early stop: the loop ends after `length` steps or as soon as no beam of any row is live (every
beam has emitted `end_token` or has log-prob -inf). Frozen beams never change, so stopping there
returns exactly what running all `length` steps would.

Beams are returned sorted best first by score; a beam with score -inf is padding (only when
beam_size exceeds the number of distinct hypotheses) and its tokens and length are meaningless.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp


class BeamResult(NamedTuple):
  """Sorted best first along the beam axis."""
  tokens: jax.Array     # (B, K, length) int32; after the first end_token, end_token
  scores: jax.Array     # (B, K) float32, log_probs / lp(lengths)
  log_probs: jax.Array  # (B, K) float32, sum of log-probs up to and including the first end
  lengths: jax.Array    # (B, K) int32, |Y|


def length_penalty_factor(lengths: jax.Array, alpha: float) -> jax.Array:
  """GNMT lp(Y) = ((5 + |Y|) / 6)^alpha, float32."""
  return ((5.0 + jnp.asarray(lengths, jnp.float32)) / 6.0) ** jnp.float32(alpha)


def beam_search(step_fn: Callable[[Any, jax.Array], tuple[Any, jax.Array]], carry: Any,
                start: jax.Array, length: int, beam_size: int, end_token: int | None,
                length_penalty: float = 0.0, early_stop: bool = True) -> BeamResult:
  """Beam search of `beam_size` hypotheses per row (pure, jittable; statics are Python values).

  start: (B,) int32 first inputs; carry: pytree with batch-leading leaves (B, ...).
  end_token None: no hypothesis ends early (all have length `length`). early_stop False runs
  all `length` steps (same result; see the module docstring for the rule).
  """
  if beam_size < 1 or length < 1:
    raise ValueError(f"beam_size and length must be >= 1, got {beam_size} and {length}")
  start = jnp.asarray(start, jnp.int32)
  b, k = start.shape[0], beam_size
  neg = jnp.float32(-jnp.inf)
  fill = 0 if end_token is None else end_token
  rows = jnp.arange(b)[:, None] * k

  state = dict(
      t=jnp.int32(0),
      carry=jax.tree.map(lambda x: jnp.repeat(x, k, axis=0), carry),
      last=jnp.repeat(start[:, None], k, axis=1),
      seqs=jnp.full((b, k, length), fill, jnp.int32),
      log_probs=jnp.where(jnp.arange(k) == 0, 0.0, neg)[None].repeat(b, 0).astype(jnp.float32),
      finished=jnp.zeros((b, k), bool),
      lengths=jnp.zeros((b, k), jnp.int32),
  )

  def live(s):
    return ~s["finished"] & (s["log_probs"] > neg)

  def cond(s):
    go = s["t"] < length
    return go & jnp.any(live(s)) if early_stop else go

  def body(s):
    t = s["t"]
    new_carry, logits = step_fn(s["carry"], s["last"].reshape(b * k))
    v = logits.shape[-1]
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1).reshape(b, k, v)
    if end_token is not None:
      frozen = jnp.where(jnp.arange(v) == end_token, 0.0, neg).astype(jnp.float32)
      logp = jnp.where(s["finished"][..., None], frozen, logp)
    cand = (s["log_probs"][..., None] + logp).reshape(b, k * v)
    cand_len = jnp.where(s["finished"], s["lengths"], t + 1)
    key = cand / jnp.repeat(length_penalty_factor(cand_len, length_penalty), v, axis=1)
    _, idx = jax.lax.top_k(key, k)
    parent, token = idx // v, (idx % v).astype(jnp.int32)
    pick = lambda x: jnp.take_along_axis(x, parent, axis=1)
    fin_parent = pick(s["finished"])
    seqs = jnp.take_along_axis(s["seqs"], parent[..., None], axis=1).at[:, :, t].set(token)
    finished = fin_parent | (token == end_token) if end_token is not None else fin_parent
    flat = (rows + parent).reshape(b * k)
    return dict(
        t=t + 1,
        carry=jax.tree.map(lambda x: x[flat], new_carry),
        last=token,
        seqs=seqs,
        log_probs=jnp.take_along_axis(cand, idx, axis=1),
        finished=finished,
        lengths=jnp.where(fin_parent, pick(s["lengths"]), t + 1).astype(jnp.int32),
    )

  s = jax.lax.while_loop(cond, body, state)
  scores = s["log_probs"] / length_penalty_factor(s["lengths"], length_penalty)
  order = jnp.argsort(-scores, axis=1, stable=True)
  sort = lambda x: jnp.take_along_axis(x, order, axis=1)
  return BeamResult(tokens=jnp.take_along_axis(s["seqs"], order[..., None], axis=1),
                    scores=sort(scores), log_probs=sort(s["log_probs"]),
                    lengths=sort(s["lengths"]))
