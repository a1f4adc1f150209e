"""dlcore.losses over pairs, batches, views and parameters: LOSS-8..15, 23..26.

Every expectation is an independent NumPy formula or loop (float64), compared at float32
tolerance.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore import losses as L
from dlcore.errors import ConfigError

RNG = np.random.default_rng(1)
TOL = dict(rtol=2e-5, atol=2e-6)


def close(got, want, **kw):
  np.testing.assert_allclose(np.asarray(got, np.float64), want, **{**TOL, **kw})


def np_log_softmax(z):
  z = np.asarray(z, np.float64)
  m = z.max(-1, keepdims=True)
  return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


# ------------------------------------------------------------------ LOSS-8 contrastive


def test_contrastive_loss_matches_numpy_and_has_finite_gradient_at_zero_distance():
  x1 = RNG.normal(size=(6, 4)).astype(np.float32)
  x2 = (x1 + RNG.normal(size=(6, 4)) * 0.5).astype(np.float32)
  y = np.array([1, 0, 1, 0, 0, 1], np.float32)
  d = np.linalg.norm(x1.astype(np.float64) - x2, axis=-1)
  want = 0.5 * (y * d**2 + (1 - y) * np.maximum(1.5 - d, 0)**2)
  close(L.contrastive_loss(x1, x2, y, margin=1.5), want)
  g = jax.grad(lambda a: L.contrastive_loss(a, x1, 1 - y, reduction="sum"))(jnp.asarray(x1))
  assert np.isfinite(np.asarray(g)).all()


# ------------------------------------------------------------------ LOSS-9 triplet + mining


def np_triplet(e, labels, margin, mining):
  e = np.asarray(e, np.float64)
  n = len(e)
  d = np.array([[np.linalg.norm(e[i] - e[j]) for j in range(n)] for i in range(n)])
  out, valid = np.zeros(n), np.zeros(n, bool)
  for a in range(n):
    ps = [p for p in range(n) if p != a and labels[p] == labels[a]]
    ns = [q for q in range(n) if labels[q] != labels[a]]
    if not ps or not ns:
      continue
    valid[a] = True
    if mining == "batch_hard":
      out[a] = max(0.0, max(d[a, p] for p in ps) - min(d[a, q] for q in ns) + margin)
    elif mining == "batch_all":
      out[a] = np.mean([max(0.0, d[a, p] - d[a, q] + margin) for p, q in itertools.product(ps, ns)])
    else:
      terms = []
      for p in ps:
        farther = [d[a, q] for q in ns if d[a, q] > d[a, p]]
        dn = min(farther) if farther else max(d[a, q] for q in ns)
        terms.append(max(0.0, d[a, p] - dn + margin))
      out[a] = np.mean(terms)
  return out, valid


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["batch_hard", "batch_all", "semi_hard"]))
def test_triplet_mining_matches_brute_force(seed, mining):
  rng = np.random.default_rng(seed)
  e = rng.normal(size=(10, 3)).astype(np.float32)
  labels = rng.integers(0, 4, size=10)
  want, valid = np_triplet(e, labels, 0.5, mining)
  close(L.triplet_loss(e, labels, margin=0.5, mining=mining), want, rtol=1e-4, atol=1e-5)
  mean = L.triplet_loss(e, labels, margin=0.5, mining=mining, reduction="mean")
  close(mean, want[valid].mean() if valid.any() else 0.0, rtol=1e-4, atol=1e-5)


def test_batch_hard_picks_the_hardest_positive_and_negative():
  # anchor 0 at the origin: positives at distance 1 and 3, negatives at 2 and 5.
  e = np.array([[0, 0], [1, 0], [0, 3], [2, 0], [0, -5]], np.float32)
  labels = np.array([0, 0, 0, 1, 1])
  got = float(L.triplet_loss(e, labels, margin=0.2)[0])
  assert got == pytest.approx(3 - 2 + 0.2, rel=1e-6)
  g = jax.grad(lambda x: L.triplet_loss(x, labels, reduction="sum"))(jnp.asarray(e))
  assert np.isfinite(np.asarray(g)).all()


def test_triplet_anchor_without_negative_is_left_out_and_bad_mining_errors():
  e = RNG.normal(size=(4, 2)).astype(np.float32)
  got = np.asarray(L.triplet_loss(e, np.array([0, 0, 0, 0])))
  assert (got == 0).all()
  with pytest.raises(ConfigError, match="semi_hard"):
    L.triplet_loss(e, np.array([0, 1, 0, 1]), mining="hardest")


# ------------------------------------------------------------------ LOSS-10/11 perceptual, style


def _features(x):
  h1 = jnp.tanh(x @ jnp.asarray(W1))
  return {"l1": h1, "l2": jax.nn.relu(h1 @ jnp.asarray(W2))}


W1 = RNG.normal(size=(5, 4)).astype(np.float32)
W2 = RNG.normal(size=(4, 3)).astype(np.float32)


def test_perceptual_loss_matches_numpy_with_layer_weights():
  x = RNG.normal(size=(3, 5)).astype(np.float32)
  t = RNG.normal(size=(3, 5)).astype(np.float32)

  def np_feats(v):
    h1 = np.tanh(v.astype(np.float64) @ W1)
    return [h1, np.maximum(h1 @ W2, 0)]

  fx, ft = np_feats(x), np_feats(t)
  want = 0.7 * ((fx[0] - ft[0])**2).sum(-1) + 2.0 * ((fx[1] - ft[1])**2).sum(-1)
  close(L.perceptual_loss(x, t, _features, layer_weights={"l1": 0.7, "l2": 2.0}), want, rtol=1e-4)
  seq = lambda v: list(_features(v).values())  # noqa: E731
  close(L.perceptual_loss(x, t, seq, normalize=True),
        ((fx[0] - ft[0])**2).mean(-1) + ((fx[1] - ft[1])**2).mean(-1), rtol=1e-4)
  assert float(L.perceptual_loss(x, x, _features, reduction="sum")) == 0.0


def test_style_loss_uses_gram_matrices():
  f = RNG.normal(size=(2, 3, 3, 4)).astype(np.float32)
  g = RNG.normal(size=(2, 3, 3, 4)).astype(np.float32)
  gram = lambda a: np.einsum("bnc,bnd->bcd", a.reshape(2, 9, 4), a.reshape(2, 9, 4)) / 36  # noqa
  close(L.gram_matrix(f), gram(f.astype(np.float64)), rtol=1e-5)
  want = ((gram(f.astype(np.float64)) - gram(g.astype(np.float64)))**2).sum((1, 2))
  close(L.style_loss(f, g, lambda v: [v]), want, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ LOSS-12..14


PARAMS = {"dense": {"kernel": np.float32([[1, -2], [3, 0.5]]), "bias": np.float32([10, -10])},
          "out": {"kernel": np.float32([[-1], [2]]), "bias": np.float32([7])}}


def test_l2_and_l1_penalties_skip_biases():
  sq = 1 + 4 + 9 + 0.25 + 1 + 4
  ab = 1 + 2 + 3 + 0.5 + 1 + 2
  close(L.l2_penalty(PARAMS, 0.1, 8), 0.1 / (2 * 8) * sq)
  close(L.l1_penalty(PARAMS, 0.1, 8), 0.1 / 8 * ab)
  close(L.l2_penalty(PARAMS, 0.1, 8, include=lambda path, leaf: True),
        0.1 / 16 * (sq + 100 + 100 + 49))
  g = jax.grad(lambda p: L.l2_penalty(p, 0.1, 8))(jax.tree.map(jnp.asarray, PARAMS))
  close(g["dense"]["kernel"], 0.1 / 8 * PARAMS["dense"]["kernel"])  # (lambda/m) W
  close(g["dense"]["bias"], np.zeros(2))


def test_weighted_sum():
  total = L.weighted_sum({"ce": (1.0, jnp.float32(2.0)), "l2": (0.5, jnp.float32(4.0))})
  assert float(total) == 4.0
  with pytest.raises(ValueError):
    L.weighted_sum({})


# ------------------------------------------------------------------ LOSS-25 NT-Xent


def np_nt_xent(z1, z2, tau):
  z = np.concatenate([z1, z2]).astype(np.float64)
  z = z / np.linalg.norm(z, axis=1, keepdims=True)
  n2 = len(z)
  losses = []
  for i in range(n2):
    j = (i + n2 // 2) % n2
    denom = sum(np.exp(z[i] @ z[k] / tau) for k in range(n2) if k != i)
    losses.append(-np.log(np.exp(z[i] @ z[j] / tau) / denom))
  return np.mean(losses)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_nt_xent_matches_numpy_loop(tau):
  z1 = RNG.normal(size=(5, 4)).astype(np.float32)
  z2 = (z1 + RNG.normal(size=(5, 4)) * 0.3).astype(np.float32)
  close(L.nt_xent_loss(z1, z2, temperature=tau, reduction="mean"), np_nt_xent(z1, z2, tau),
        rtol=1e-4)
  keep = np.array([1, 1, 0, 1, 1], np.float32)  # a masked pair is not a negative either
  close(L.nt_xent_loss(z1, z2, temperature=tau, mask=keep, reduction="mean"),
        np_nt_xent(z1[keep > 0], z2[keep > 0], tau), rtol=1e-4)


# ------------------------------------------------------------------ LOSS-26 distillation


def np_kl(t, s):
  p, q = np_log_softmax(t), np_log_softmax(s)
  return (np.exp(p) * (p - q)).sum(-1)


def test_distillation_loss():
  s = RNG.normal(size=(6, 4)).astype(np.float32)
  t = (RNG.normal(size=(6, 4)) * 2).astype(np.float32)
  y = RNG.integers(0, 4, size=6)
  T = 3.0
  soft = T**2 * np_kl(t / T, s / T)
  close(L.distillation_loss(s, t, temperature=T, alpha=1.0), soft, rtol=1e-4, atol=1e-6)
  hard = -(np.eye(4)[y] * np_log_softmax(s)).sum(-1)
  close(L.distillation_loss(s, t, y, temperature=T, alpha=0.3), 0.3 * soft + 0.7 * hard,
        rtol=1e-4, atol=1e-6)
  gt = jax.grad(lambda tt: L.distillation_loss(s, tt, y, reduction="sum"))(jnp.asarray(t))
  assert not np.asarray(gt).any()  # the teacher is frozen
  assert float(L.distillation_loss(s, s, temperature=T, alpha=1.0, reduction="sum")) < 1e-6


# ------------------------------------------------------------------ LOSS-15, 23, 24


def test_gan_losses():
  r = RNG.normal(size=5).astype(np.float32)
  f = RNG.normal(size=5).astype(np.float32)
  sig = lambda z: 1 / (1 + np.exp(-z.astype(np.float64)))  # noqa: E731
  close(L.gan_discriminator_loss(r, f), -(np.log(sig(r)) + np.log(1 - sig(f))), rtol=1e-5)
  close(L.gan_generator_loss(f), -np.log(sig(f)), rtol=1e-5)
  close(L.gan_generator_loss(f, non_saturating=False), np.log(1 - sig(f)), rtol=1e-5)


def test_policy_gradient_and_td_losses():
  logits = RNG.normal(size=(4, 3)).astype(np.float32)
  a = np.array([0, 2, 1, 2])
  ret = np.float32([1.0, -0.5, 2.0, 0.0])
  base = np.float32([0.5, 0.5, 0.5, 0.5])
  logp = np_log_softmax(logits)[np.arange(4), a]
  close(L.policy_gradient_loss(logits, a, ret), -logp * ret)
  close(L.policy_gradient_loss(logits, a, ret, baseline=base), -logp * (ret - base))
  q = RNG.normal(size=(4, 3)).astype(np.float32)
  nq = RNG.normal(size=(4, 3)).astype(np.float32)
  r = np.float32([1, 0, -1, 0.5])
  done = np.float32([0, 1, 0, 0])
  e = q[np.arange(4), a] - (r + 0.9 * (1 - done) * nq.max(-1))
  close(L.td_loss(q, a, r, nq, done, gamma=0.9, delta=None), 0.5 * e**2, rtol=1e-5)
  huber = np.where(np.abs(e) <= 1, 0.5 * e**2, np.abs(e) - 0.5)
  close(L.td_loss(q, a, r, nq, done, gamma=0.9), huber, rtol=1e-5)
