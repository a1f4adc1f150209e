"""Greedy, sampling and beam-search decoding (GEN-1..3) against greedy and exhaustive search.

The model is a fixed random table: logits_t = TABLE[step, previous token], the step counter kept
in the carry, so the next-token distribution depends on history (V = 5, length 4).
"""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.decode import (BeamResult, beam_search, filter_logits, greedy_decode,
                           sample_decode)
from dlcore.decode.beam import length_penalty_factor

V, L, EOS = 5, 4, 4
TABLE = np.random.default_rng(0).normal(size=(L, V, V)).astype(np.float32)  # [step, prev, next]
START = jnp.array([0, 1, 2, 3], jnp.int32)  # greedy: rows 0 and 3 end early, 1 and 2 never


def table_step(carry, tokens):
  step = carry["step"]
  logits = jnp.asarray(TABLE)[jnp.minimum(step, L - 1), tokens]
  return {"step": step + 1}, logits


def init_carry(b):
  return {"step": jnp.zeros((b,), jnp.int32)}


def score_sequences(step_fn, carry, start, seqs, end_token=None):
  """Teacher-forced (sum of log-probs up to and including the first end_token, |Y|) per row."""
  seqs = jnp.asarray(seqs, jnp.int32)
  inputs = jnp.concatenate([start[:, None], seqs[:, :-1]], axis=1)

  def body(c, x):
    c, logits = step_fn(c, x[0])
    lp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return c, jnp.take_along_axis(lp, x[1][:, None], axis=1)[:, 0]

  _, lp = jax.lax.scan(body, carry, (inputs.T, seqs.T))
  lp, seqs = np.asarray(lp.T), np.asarray(seqs)
  n = seqs.shape[1]
  if end_token is None:
    lengths = np.full(len(seqs), n)
  else:
    is_end = seqs == end_token
    lengths = np.where(is_end.any(1), is_end.argmax(1) + 1, n)
  mask = np.arange(n)[None] < lengths[:, None]
  return np.where(mask, lp, 0.0).sum(1), lengths


def jbeam(step_fn, carry, start, length, beam_size, end_token, **kw) -> BeamResult:
  """beam_search under jax.jit (compiling is cheaper than op-by-op execution here)."""
  return jax.jit(functools.partial(beam_search, step_fn, length=length, beam_size=beam_size,
                                   end_token=end_token, **kw))(carry, start)


def gnmt(lengths, alpha):
  return ((5.0 + np.asarray(lengths, np.float64)) / 6.0) ** alpha


def test_table_preconditions():
  """The table has clear argmax margins (for temperature 1e-4) and greedy both ends and not."""
  s = np.sort(TABLE, axis=-1)
  assert (s[..., -1] - s[..., -2]).min() > 0.05
  g = np.asarray(greedy_decode(table_step, init_carry(4), START, L, end_token=EOS))
  ended = (g == EOS).any(1)
  assert ended.any() and not ended.all()
  assert (g[ended, -1] == EOS).all()


# ------------------------------------------------------------------------------ filter_logits


def _np_nucleus(logits, top_p):
  """NumPy reference: the minimal most-probable prefix with mass >= top_p (ties: lower id)."""
  p = np.exp(logits - logits.max())
  p /= p.sum()
  order = np.argsort(-logits, kind="stable")
  cum = np.cumsum(p[order])
  n = int(np.searchsorted(cum, top_p) + 1)  # first index where cum >= top_p, as a count
  keep = np.zeros(len(logits), bool)
  keep[order[:min(n, len(logits))]] = True
  return keep


def test_filter_top_k_keeps_exactly_k_largest():
  logits = np.random.default_rng(1).normal(size=(3, 7)).astype(np.float32)
  for k in range(1, 9):
    out = np.asarray(filter_logits(logits, 0.5, top_k=k))
    kept = np.isfinite(out)
    assert (kept.sum(1) == min(k, 7)).all()
    kth = -np.sort(-logits, axis=1)[:, min(k, 7) - 1:min(k, 7)]  # k-th largest per row
    assert (np.where(kept, logits, np.inf) >= kth).all()
    np.testing.assert_allclose(out[kept], logits[kept] / 0.5, rtol=1e-6)
  ties = np.zeros((1, 6), np.float32)
  assert np.isfinite(np.asarray(filter_logits(ties, top_k=2))).nonzero()[1].tolist() == [0, 1]


def test_filter_top_p_matches_numpy_nucleus():
  logits = np.random.default_rng(2).normal(scale=2.0, size=(6, 9)).astype(np.float32)
  for top_p in (1e-6, 0.1, 0.5, 0.8, 0.95, 0.999):
    out = np.asarray(filter_logits(logits, 1.0, top_p=top_p))
    want = np.stack([_np_nucleus(r, top_p) for r in logits])
    np.testing.assert_array_equal(np.isfinite(out), want)
    np.testing.assert_array_equal(out[want], logits[want])
  # top-k first, then the nucleus of the renormalized top-k distribution
  out = np.asarray(filter_logits(logits, 1.0, top_k=3, top_p=0.7))
  masked = np.where(np.isfinite(np.asarray(filter_logits(logits, 1.0, top_k=3))), logits, -np.inf)
  want = np.stack([_np_nucleus(r, 0.7) & np.isfinite(r) for r in masked])
  np.testing.assert_array_equal(np.isfinite(out), want)


@settings(max_examples=20, deadline=None)
@given(logits=st.sampled_from([2, 7]).flatmap(  # two sizes: fewer op-by-op compiles
    lambda n: st.lists(st.floats(-6, 6, width=32), min_size=n, max_size=n)),
       top_p=st.floats(0.01, 0.99))
def test_filter_top_p_is_minimal_nucleus(logits, top_p):
  z = np.asarray(logits, np.float32)
  kept = np.isfinite(np.asarray(filter_logits(z, 1.0, top_p=top_p)))
  p = np.exp(z.astype(np.float64) - z.max())
  p /= p.sum()
  assert kept.any()
  assert p[kept].min() >= p[~kept].max(initial=0.0)  # a most-probable set
  mass = p[kept].sum()
  assert mass >= top_p - 1e-5
  assert mass - p[kept].min() < top_p + 1e-5  # dropping its least-probable member falls short


def test_filter_temperature_zero_and_bad_args():
  logits = np.array([[0.1, 2.0, -1.0, 2.0]], np.float32)
  out = np.asarray(filter_logits(logits, 0.0, top_k=3, top_p=0.5))
  np.testing.assert_array_equal(np.isfinite(out), [[False, True, False, False]])
  assert out[0, 1] == 2.0
  for kw in (dict(temperature=-1.0), dict(top_k=-1), dict(top_p=0.0), dict(top_p=1.5)):
    with pytest.raises(ValueError):
      filter_logits(logits, **kw)


# ------------------------------------------------------------------------------ sampling


def test_sampling_degenerate_settings_are_greedy():
  """top_k=1, temperature 0 or 1e-4, top_p=1e-6 give greedy_decode (with end_token), 4 seeds."""
  carry = init_carry(4)
  settings_ = (dict(top_k=1), dict(temperature=0.0), dict(temperature=1e-4), dict(top_p=1e-6))

  @jax.jit
  @jax.vmap
  def run(key):  # one compilation for every setting
    return jnp.stack([sample_decode(table_step, carry, START, L, key, end_token=EOS, **kw)
                      for kw in settings_])

  outs = np.asarray(run(jax.random.split(jax.random.PRNGKey(0), 4)))  # (seed, setting, B, L)
  greedy = np.asarray(greedy_decode(table_step, carry, START, L, end_token=EOS))
  np.testing.assert_array_equal(outs, np.broadcast_to(greedy, outs.shape))


def test_sampling_frequencies_match_softmax():
  logits = jnp.array([1.0, 0.0, -0.5, 2.0, 0.3], jnp.float32)
  n = 4000
  step = lambda c, tok: (c, jnp.broadcast_to(logits, (tok.shape[0], V)))
  start = jnp.zeros((n,), jnp.int32)
  run = jax.jit(lambda: [sample_decode(step, jnp.zeros((n,)), start, 1, jax.random.PRNGKey(i),
                                       top_k=k)[:, 0] for i, k in ((0, 0), (1, 2))])
  plain, top2 = (np.bincount(np.asarray(o), minlength=V) / n for o in run())
  np.testing.assert_allclose(plain, np.asarray(jax.nn.softmax(logits)), atol=0.03)
  want = np.zeros(V)  # top_k=2: only the two largest, renormalized
  want[[0, 3]] = np.asarray(jax.nn.softmax(logits[jnp.array([0, 3])]))
  np.testing.assert_allclose(top2, want, atol=0.03)


def test_sampling_end_token_absorbs_and_steps_differ():
  b = 256
  out = np.asarray(sample_decode(table_step, init_carry(b), jnp.zeros((b,), jnp.int32), L,
                                 jax.random.PRNGKey(3), end_token=EOS))
  is_end = out == EOS
  first = np.where(is_end.any(1), is_end.argmax(1), L)
  assert (first < L - 1).any()
  assert all(is_end[i, first[i]:].all() for i in range(b))
  assert len({tuple(r) for r in out}) > 10  # rows are sampled independently


def test_sampling_matches_stepwise_reference():
  """Step t draws categorical(fold_in(rng, t), filter_logits(z_t)), fed back as the next input."""
  rng, kw = jax.random.PRNGKey(5), dict(temperature=0.7, top_k=4, top_p=0.9)

  @jax.jit
  def both():
    out, prev, ref = sample_decode(table_step, init_carry(4), START, L, rng, **kw), START, []
    for t in range(L):  # unrolled reference
      z = filter_logits(jnp.asarray(TABLE)[t, prev], **kw)
      prev = jax.random.categorical(jax.random.fold_in(rng, t), z, axis=-1).astype(jnp.int32)
      ref.append(prev)
    return out, jnp.stack(ref, axis=1)

  out, ref = both()
  np.testing.assert_array_equal(np.asarray(out), np.asarray(ref))


# ------------------------------------------------------------------------------ beam search


@pytest.mark.parametrize("end_token,alpha", [(None, 0.0), (EOS, 0.0), (EOS, 0.6)])
def test_beam_size_one_is_greedy(end_token, alpha):
  carry = init_carry(4)
  greedy = np.asarray(greedy_decode(table_step, carry, START, L, end_token=end_token))
  res = jbeam(table_step, carry, START, L, 1, end_token, length_penalty=alpha)
  assert isinstance(res, BeamResult) and res.tokens.shape == (4, 1, L)
  np.testing.assert_array_equal(np.asarray(res.tokens[:, 0]), greedy)


def test_beam_exhaustive_no_end_token():
  """beam_size = V**L holds every sequence: all scores equal the exhaustive ones, sorted."""
  b, k = 2, V ** L
  start = START[:b]
  res = jbeam(table_step, init_carry(b), start, L, k, None)
  seqs = np.array(list(itertools.product(range(V), repeat=L)), np.int32)
  lp_all, _ = score_sequences(table_step, init_carry(b * k), jnp.repeat(start, k),
                              np.tile(seqs, (b, 1)))
  for i in range(b):
    lp = lp_all[i * k:(i + 1) * k]
    order = np.argsort(-lp, kind="stable")
    np.testing.assert_array_equal(np.asarray(res.tokens[i, 0]), seqs[order[0]])
    np.testing.assert_allclose(np.asarray(res.scores[i]), lp[order], atol=1e-5)
    np.testing.assert_allclose(np.asarray(res.log_probs[i]), lp[order], atol=1e-5)
    assert len({tuple(r) for r in np.asarray(res.tokens[i])}) == k  # no duplicates
    assert (np.asarray(res.lengths[i]) == L).all()


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_exhaustive_with_end_token(alpha):
  """Hypotheses end at the first EOS; score = log P / ((5 + |Y|)/6)^alpha over all of them."""
  b, k = 2, V ** L
  start = START[:b]
  res = jbeam(table_step, init_carry(b), start, L, k, EOS, length_penalty=alpha)
  seqs = np.array(list(itertools.product(range(V), repeat=L)), np.int32)
  lp_all, n_all = score_sequences(table_step, init_carry(b * k), jnp.repeat(start, k),
                                  np.tile(seqs, (b, 1)), EOS)
  for i in range(b):
    lp, n = lp_all[i * k:(i + 1) * k], n_all[i * k:(i + 1) * k]
    hyps = {}  # canonical (EOS-padded) sequence -> (score, log P, |Y|)
    for s, l, m in zip(seqs, lp, n):
      canon = tuple(s[:m]) + (EOS,) * (L - m)
      hyps[canon] = (l / gnmt(m, alpha), l, m)
    ranked = sorted(hyps.items(), key=lambda kv: -kv[1][0])
    h = len(ranked)
    assert h == sum((V - 1) ** j for j in range(L)) + (V - 1) ** L  # 341 distinct hypotheses
    scores = np.asarray(res.scores[i])
    assert tuple(np.asarray(res.tokens[i, 0])) == ranked[0][0]
    np.testing.assert_allclose(scores[:h], [r[1][0] for r in ranked], atol=1e-5)
    assert np.isneginf(scores[h:]).all()
    got = {tuple(r): (s, l, m) for r, s, l, m in zip(
        np.asarray(res.tokens[i, :h]), scores[:h], np.asarray(res.log_probs[i, :h]),
        np.asarray(res.lengths[i, :h]))}
    assert got.keys() == hyps.keys()  # every hypothesis exactly once
    for key, (s, l, m) in got.items():
      assert m == hyps[key][2]
      assert abs(l - hyps[key][1]) < 1e-5


def _reference_beam(start, k, alpha):
  """Pure-Python beam search with the documented rule, on TABLE (float64)."""
  z = TABLE.astype(np.float64)
  logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
  beams = [((), 0.0, 0)]  # (tokens, log P, |Y| if finished else 0)
  for t in range(L):
    cands = []
    for toks, lp, done in beams:
      if done:
        cands.append((toks + (EOS,), lp, done))
      else:
        prev = toks[-1] if toks else start
        cands += [(toks + (v,), lp + logp[t, prev, v], t + 1 if v == EOS else 0)
                  for v in range(V)]
    key = lambda c: c[1] / gnmt(c[2] or t + 1, alpha)
    beams = sorted(cands, key=lambda c: -key(c))[:k]  # stable: lower (beam, token) first
  return sorted(((toks, lp / gnmt(n or L, alpha)) for toks, lp, n in beams),
                key=lambda c: -c[1])


@pytest.mark.parametrize("k,alpha", [(2, 0.0), (4, 1.0)])
def test_beam_matches_reference_beam_search(k, alpha):
  """Narrow beams (pruning active): same hypotheses and scores as a plain Python beam search.

  With (4, 1.0) pruning by raw log P instead of the normalized score keeps other hypotheses.
  """
  res = jbeam(table_step, init_carry(4), START, L, k, EOS, length_penalty=alpha)
  for i, s0 in enumerate(np.asarray(START)):
    ref = _reference_beam(int(s0), k, alpha)
    np.testing.assert_array_equal(np.asarray(res.tokens[i]), [r[0] for r in ref])
    np.testing.assert_allclose(np.asarray(res.scores[i]), [r[1] for r in ref], atol=1e-5)


def test_beam_log_probs_lengths_and_padding():
  k, alpha = 3, 0.6
  carry = init_carry(4)
  res = jbeam(table_step, carry, START, L, k, EOS, length_penalty=alpha)
  toks = np.asarray(res.tokens).reshape(4 * k, L)
  lp, n = score_sequences(table_step, init_carry(4 * k), jnp.repeat(START, k), toks, EOS)
  np.testing.assert_allclose(np.asarray(res.log_probs).reshape(-1), lp, atol=1e-5)
  np.testing.assert_array_equal(np.asarray(res.lengths).reshape(-1), n)
  want = np.asarray(res.log_probs) / np.asarray(length_penalty_factor(res.lengths, alpha))
  np.testing.assert_allclose(np.asarray(res.scores), want, rtol=1e-6)
  assert (np.diff(np.asarray(res.scores), axis=1) <= 0).all()  # best first
  for r, m in zip(toks, n):
    assert (r[m:] == EOS).all() and (m == L or r[m - 1] == EOS) and EOS not in r[:m - 1]
  for row in np.asarray(res.tokens):
    assert len({tuple(r) for r in row}) == k
  assert res.tokens.dtype == jnp.int32 and res.scores.dtype == jnp.float32


def test_beam_early_stop_is_exact_and_stops():
  """EOS grows likelier every step: the loop stops once all beams ended, same result as 10 steps."""
  calls = []

  def step(carry, tokens):
    jax.debug.callback(lambda: calls.append(1))
    c, logits = table_step(carry, tokens)
    bonus = 1.5 * carry["step"].astype(jnp.float32)[:, None] * (jnp.arange(V) == EOS)
    return c, logits + bonus

  run = functools.partial(jbeam, step, init_carry(4), START, 10, 3, EOS, length_penalty=0.6)
  early = run()
  jax.effects_barrier()
  n_early, calls[:] = len(calls), []
  full = run(early_stop=False)
  jax.effects_barrier()
  assert len(calls) == 10
  assert n_early == int(np.asarray(early.lengths).max()) < 10  # the step the last beam ended
  assert np.isfinite(np.asarray(early.scores)).all()
  for a, b in zip(early, full):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------------------------ jit, pytree carry


def test_jit_matches_eager_with_rnn_pytree_carry():
  """A tanh RNN h' = tanh(E[y] + h W), z = h U with carry {"h": (B, H), "n": (B,)}."""
  b, k, hid = 3, 3, 8
  r = np.random.default_rng(3)
  emb, w, u = (jnp.asarray(r.normal(size=sh), jnp.float32) for sh in ((V, hid), (hid, hid),
                                                                         (hid, V)))

  def step(carry, tokens):  # pytree carry: hidden state plus a step counter
    h = jnp.tanh(emb[tokens] + carry["h"] @ w)
    return {"h": h, "n": carry["n"] + 1}, 2.0 * h @ u

  carry = {"h": jnp.zeros((b, hid)), "n": jnp.zeros((b,), jnp.int32)}
  start = jnp.array([0, 2, 4], jnp.int32)
  rng = jax.random.PRNGKey(7)
  greedy = functools.partial(greedy_decode, step, length=L, end_token=EOS)
  sample = functools.partial(sample_decode, step, length=L, temperature=0.8, top_k=3, top_p=0.9,
                             end_token=EOS)
  beam = functools.partial(beam_search, step, length=L, beam_size=k, end_token=EOS,
                           length_penalty=0.6)
  g = greedy(carry, start)
  np.testing.assert_array_equal(np.asarray(jax.jit(greedy)(carry, start)), np.asarray(g))
  np.testing.assert_array_equal(np.asarray(jax.jit(sample)(carry, start, rng=rng)),
                                np.asarray(sample(carry, start, rng=rng)))
  eager, jitted = beam(carry, start), jax.jit(beam)(carry, start)
  for a, e in zip(jitted, eager):
    np.testing.assert_allclose(np.asarray(a), np.asarray(e), atol=1e-6)
  assert jitted.tokens.dtype == jnp.int32
  # the RNN state differs per beam, so this checks that the carry follows the parent beams
  toks = np.asarray(eager.tokens).reshape(b * k, L)
  rep = jax.tree.map(lambda x: jnp.repeat(x, k, axis=0), carry)
  lp, _ = score_sequences(step, rep, jnp.repeat(start, k), toks, EOS)
  np.testing.assert_allclose(np.asarray(eager.log_probs).reshape(-1), lp, atol=1e-5)
