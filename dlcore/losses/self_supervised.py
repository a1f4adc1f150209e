"""NT-Xent (SimCLR) and knowledge distillation (curriculum LOSS-25, LOSS-26; canonical forms,
§0 item 18: the seeds name these methods without a formula)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore.losses.base import finish
from dlcore.losses.classification import softmax_cross_entropy


def nt_xent_loss(z1: jnp.ndarray, z2: jnp.ndarray, *, temperature: float = 0.5, weights=None,
                 mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-25 NT-Xent (SimCLR, Chen et al. 2020), one value per positive pair (z1_k, z2_k).

  z = normalise(concat(z1, z2)) (2N rows); s_ij = z_i . z_j / tau;
  l(i, j) = -log exp(s_ij) / sum_{k != i} exp(s_ik); the value of pair k is
  [l(k, k+N) + l(k+N, k)] / 2, so reduction='mean' is SimCLR's (1/2N) sum over all 2N anchors.
  A masked pair (mask 0) is also removed from every other anchor's negatives.
  """
  z = jnp.concatenate([jnp.asarray(z1), jnp.asarray(z2)], axis=0)
  z = z / jnp.maximum(jnp.linalg.norm(z, axis=-1, keepdims=True), 1e-12)
  n = z1.shape[0]
  sim = (z @ z.T) / temperature
  exclude = jnp.eye(2 * n, dtype=bool)
  keep = jnp.ones((2 * n,), bool) if mask is None else jnp.tile(jnp.asarray(mask) > 0, 2)
  exclude = exclude | ~keep[None, :]
  sim = jnp.where(exclude, -jnp.inf, sim)
  partner = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(n)])
  log_p = jax.nn.log_softmax(sim, axis=-1)
  per_anchor = -jnp.take_along_axis(log_p, partner[:, None], axis=-1)[:, 0]
  per_anchor = jnp.where(keep, per_anchor, 0.0)  # a masked anchor's positive is excluded too
  values = 0.5 * (per_anchor[:n] + per_anchor[n:])
  return finish(values, weights, mask, reduction)


def kl_divergence_with_logits(p_logits: jnp.ndarray, q_logits: jnp.ndarray) -> jnp.ndarray:
  """KL(p || q) = sum_c p_c (log p_c - log q_c), p = softmax(p_logits), q = softmax(q_logits)."""
  log_p = jax.nn.log_softmax(p_logits, axis=-1)
  log_q = jax.nn.log_softmax(q_logits, axis=-1)
  return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)


def distillation_loss(student_logits: jnp.ndarray, teacher_logits: jnp.ndarray,
                      labels: jnp.ndarray | None = None, *, temperature: float = 4.0,
                      alpha: float = 0.5, weights=None, mask=None,
                      reduction: str = "none") -> jnp.ndarray:
  """LOSS-26 knowledge distillation (Hinton et al. 2015), per example:

  alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, labels).
  The teacher is not differentiated (stop_gradient); `labels` may be None when alpha = 1.
  """
  s = jnp.asarray(student_logits)
  t = jax.lax.stop_gradient(jnp.asarray(teacher_logits, s.dtype))
  soft = temperature**2 * kl_divergence_with_logits(t / temperature, s / temperature)
  values = alpha * soft
  if alpha != 1.0:
    if labels is None:
      raise ValueError("distillation_loss needs labels unless alpha == 1")
    values = values + (1.0 - alpha) * softmax_cross_entropy(s, labels)
  return finish(values, weights, mask, reduction)


def clip_loss(image_embeddings: jnp.ndarray, text_embeddings: jnp.ndarray,
              logit_scale: jnp.ndarray | float, *, mask=None,
              reduction: str = "none") -> jnp.ndarray:
  """CLIP's symmetric contrastive loss (Radford et al. 2021), one value per pair k:

  logits_ij = s · x_i . y_j (x, y the normalised image and text embeddings of the batch);
  value_k = [CE(logits_k, k) + CE(logits_:k, k)] / 2, the image-to-text and text-to-image
  cross-entropies of the matching pair. Masked pairs (mask 0) are removed as negatives too.
  """
  x, y = jnp.asarray(image_embeddings), jnp.asarray(text_embeddings)
  logits = logit_scale * (x @ y.T)
  if mask is not None:
    keep = jnp.asarray(mask) > 0
    logits = jnp.where(keep[None, :] & keep[:, None] | jnp.eye(len(x), dtype=bool), logits,
                       -jnp.inf)
  diagonal = jnp.diagonal(logits)
  image_to_text = jax.nn.logsumexp(logits, axis=1) - diagonal
  text_to_image = jax.nn.logsumexp(logits, axis=0) - diagonal
  return finish(0.5 * (image_to_text + text_to_image), None, mask, reduction)
