"""Mergeable perplexity (curriculum MET-12): exp of the mean token negative log-likelihood."""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from dlcore.metrics.stats import Additive


@flax.struct.dataclass
class Perplexity(Additive):
  """Σ NLL and the token count over valid tokens (merge = addition)."""
  nll: jnp.ndarray
  count: jnp.ndarray

  @classmethod
  def from_nll(cls, nll, mask=None) -> "Perplexity":
    """From per-token NLL = -log p(token) of any shape; mask has the same shape (1 = real)."""
    nll = jnp.asarray(nll, jnp.float32)
    w = jnp.ones_like(nll) if mask is None else jnp.asarray(mask, jnp.float32).reshape(nll.shape)
    return cls(nll=(w * nll).sum(), count=w.sum())

  @classmethod
  def from_batch(cls, logits, targets, mask=None) -> "Perplexity":
    """NLL_t = logsumexp(z_t) - z_t[y_t] from logits (..., V) and integer targets (...)."""
    logits = jnp.asarray(logits, jnp.float32)
    tgt = jnp.asarray(targets).astype(jnp.int32)[..., None]
    nll = jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, tgt, -1)[..., 0]
    return cls.from_nll(nll, mask)

  def compute(self) -> float:
    """MET-12 PPL = exp((1/T) Σ_t -log p(y_t | y_<t))."""
    return float(np.exp(float(self.nll) / max(float(self.count), 1e-12)))
