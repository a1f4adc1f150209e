"""Autoencoder and VAE objectives (curriculum LOSS-16, LOSS-17, LOSS-18; ARC-29..32).

Per-example values (B,) unless stated; every sum runs over an example's features / latent units.

  bernoulli_nll(l, x)      = Σ_i [max(l_i, 0) − l_i x_i + log(1 + e^{−|l_i|})]
                           = −Σ_i [x_i log σ(l_i) + (1 − x_i) log(1 − σ(l_i))]  (nats)
  gaussian_kl(μ, log σ²)   = KL(N(μ, diag σ²) || N(0, I)) = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²)
  negative_elbo            = bernoulli_nll(decoder logits, x) + β · gaussian_kl(μ, log σ²)
                             (LOSS-17, Kingma & Welling 2014; canonical, the seed gives none:
                             one reparameterised sample z = μ + σ ⊙ ε per example; β = 1)
  l1_sparsity(h)           = Σ_j |h_j|                                  (LOSS-18, L1 on the code)
  kl_sparsity(h, ρ)        = Σ_j KL(ρ || ρ̂_j) = Σ_j [ρ log(ρ/ρ̂_j) + (1−ρ) log((1−ρ)/(1−ρ̂_j))],
                             ρ̂_j = the (masked) batch mean of sigmoid code unit j (LOSS-18, Ng's
                             sparse autoencoder notes); one scalar per batch, not per example.
The squared reconstruction error ||X − X̂||² (LOSS-16) is `dlcore.losses.reconstruction_loss`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore.losses.base import assert_same_shape

SPARSITY_EPS = 1e-6  # ρ̂ is clipped to [eps, 1 − eps] so the KL stays finite


def _flat(x: jnp.ndarray) -> jnp.ndarray:
  return x.reshape(x.shape[0], -1)


def bernoulli_nll(logits: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
  """−log p(x | l) of independent Bernoulli(σ(l_i)) pixels, summed per example (nats).
  Targets in [0, 1] (binary for a proper likelihood)."""
  logits = jnp.asarray(logits)
  targets = jnp.asarray(targets).astype(logits.dtype)
  assert_same_shape("bernoulli_nll", logits, targets)
  values = jnp.maximum(logits, 0) - logits * targets + jax.nn.softplus(-jnp.abs(logits))
  return _flat(values).sum(-1)


def gaussian_kl(mean: jnp.ndarray, logvar: jnp.ndarray) -> jnp.ndarray:
  """KL(N(mean, diag exp(logvar)) || N(0, I)) in closed form, per example (nats)."""
  return 0.5 * _flat(jnp.square(mean) + jnp.exp(logvar) - 1.0 - logvar).sum(-1)


def negative_elbo(logits: jnp.ndarray, targets: jnp.ndarray, mean: jnp.ndarray,
                  logvar: jnp.ndarray, beta: float = 1.0) -> jnp.ndarray:
  """LOSS-17: −ELBO = −E_q[log p(x|z)] + β KL(q(z|x) || p(z)), the expectation estimated by the
  decoder `logits` of one sample z ~ q(z|x); per example, nats."""
  return bernoulli_nll(logits, targets) + beta * gaussian_kl(mean, logvar)


def l1_sparsity(codes: jnp.ndarray) -> jnp.ndarray:
  """LOSS-18 (L1 form): Σ_j |h_j| per example."""
  return _flat(jnp.abs(codes)).sum(-1)


def bernoulli_kl(rho: float, rho_hat: jnp.ndarray) -> jnp.ndarray:
  """KL(Bernoulli(ρ) || Bernoulli(ρ̂)) elementwise, ρ̂ clipped to [eps, 1 − eps]."""
  rho_hat = jnp.clip(rho_hat, SPARSITY_EPS, 1.0 - SPARSITY_EPS)
  return rho * jnp.log(rho / rho_hat) + (1.0 - rho) * jnp.log((1.0 - rho) / (1.0 - rho_hat))


def kl_sparsity(codes: jnp.ndarray, rho: float, mask: jnp.ndarray | None = None) -> jnp.ndarray:
  """LOSS-18 (KL form): Σ_j KL(ρ || ρ̂_j), ρ̂_j = Σ_b m_b h_bj / Σ_b m_b over the batch; `codes`
  are sigmoid activations in (0, 1), `mask` drops padded rows. A scalar."""
  codes = _flat(codes)
  m = jnp.ones(codes.shape[:1], codes.dtype) if mask is None else jnp.asarray(mask, codes.dtype)
  rho_hat = (codes * m[:, None]).sum(0) / jnp.maximum(m.sum(), 1.0)
  return bernoulli_kl(rho, rho_hat).sum()
