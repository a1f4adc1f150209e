"""GAN objectives (curriculum ARC-33, LOSS-15; Goodfellow et al. 2014), D(x) = sigmoid(logit):

  min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

The discriminator minimises -[log D(x) + log(1 - D(G(z)))]. The generator minimises either the
minimax (saturating) form log(1 - D(G(z))) as stated in ARC-33, or the non-saturating
-log D(G(z)) (same fixed point, strong gradients when D rejects the samples early on).
"""

from __future__ import annotations

import jax.numpy as jnp

from dlcore.losses.base import finish
from dlcore.losses.classification import binary_cross_entropy_with_logits

GENERATOR_LOSSES = ("minimax", "non_saturating")


def gan_discriminator_loss(real_logits: jnp.ndarray, fake_logits: jnp.ndarray, *, weights=None,
                           mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-15 discriminator: -[log D(x) + log(1 - D(G(z)))], D = sigmoid(logit), per example."""
  values = (binary_cross_entropy_with_logits(real_logits, jnp.ones(real_logits.shape[:1])) +
            binary_cross_entropy_with_logits(fake_logits, jnp.zeros(fake_logits.shape[:1])))
  return finish(values, weights, mask, reduction)


def gan_generator_loss(fake_logits: jnp.ndarray, *, non_saturating: bool = True, weights=None,
                       mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-15 generator: -log D(G(z)) (non-saturating, default) or log(1 - D(G(z))) (minimax)."""
  fake_logits = jnp.asarray(fake_logits)
  if non_saturating:
    values = binary_cross_entropy_with_logits(fake_logits, jnp.ones(fake_logits.shape[:1]))
  else:
    values = -binary_cross_entropy_with_logits(fake_logits, jnp.zeros(fake_logits.shape[:1]))
  return finish(values, weights, mask, reduction)
