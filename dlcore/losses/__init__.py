"""Losses (curriculum §4). Each returns per-example values; `reduce_loss` applies mask and
reduction.

Registry `LOSSES` maps config names to functions `fn(outputs, targets) -> per-example loss`:
mse, mae, huber, reconstruction, cross_entropy, weighted_cross_entropy, binary_cross_entropy
(logits), binary_cross_entropy_probs, focal, binary_focal, triplet, next_token_cross_entropy.
`build_loss(config.loss)` binds a registered loss's hyperparameters.

Every loss also takes keyword `weights` and `mask` (per-example factors, multiplied) and
`reduction` ('none' = per-example values, the default; 'mean' = sum(w m v) / sum(w m); 'sum').
Losses over pairs, views or parameters (contrastive, NT-Xent, distillation, perceptual, style,
penalties, RL, GAN) are plain functions, not registered.
"""

from dlcore.losses.base import LOSSES, REDUCTIONS, finish, reduce_loss
from dlcore.losses.classification import (binary_cross_entropy,
                                          binary_cross_entropy_with_logits, probability_eps,
                                          softmax_cross_entropy, weighted_cross_entropy)
from dlcore.losses.config import build_loss, hyperparameters
from dlcore.losses.focal import binary_focal_loss, focal_loss
from dlcore.losses.generative import (bernoulli_nll, gaussian_kl, kl_sparsity,  # noqa: F401
                                      l1_sparsity, negative_elbo)
from dlcore.losses.metric_learning import contrastive_loss, pairwise_distances, triplet_loss
from dlcore.losses.penalties import l1_penalty, l2_penalty, skip_biases, weighted_sum
from dlcore.losses.perceptual import gram_matrix, perceptual_loss, style_loss
from dlcore.losses.regression import (huber_loss, mean_absolute_error, mean_squared_error,
                                      reconstruction_loss)
from dlcore.losses.self_supervised import (clip_loss, distillation_loss,  # noqa: F401
                                           kl_divergence_with_logits, nt_xent_loss)
from dlcore.losses.gan import gan_discriminator_loss, gan_generator_loss
from dlcore.losses.sequence_rl import (next_token_cross_entropy, policy_gradient_loss,
                                       ppo_clip_loss, td_loss, value_loss)

__all__ = [
    "LOSSES", "REDUCTIONS", "reduce_loss", "finish", "build_loss", "hyperparameters",
    "mean_squared_error", "mean_absolute_error", "huber_loss", "reconstruction_loss",
    "softmax_cross_entropy", "weighted_cross_entropy", "binary_cross_entropy_with_logits",
    "binary_cross_entropy", "probability_eps", "focal_loss", "binary_focal_loss",
    "contrastive_loss", "triplet_loss", "pairwise_distances", "perceptual_loss", "style_loss",
    "gram_matrix", "l1_penalty", "l2_penalty", "skip_biases", "weighted_sum",
    "distillation_loss", "kl_divergence_with_logits", "nt_xent_loss",
    "next_token_cross_entropy", "policy_gradient_loss", "td_loss", "ppo_clip_loss", "value_loss",
    "gan_discriminator_loss",
    "gan_generator_loss"
]
