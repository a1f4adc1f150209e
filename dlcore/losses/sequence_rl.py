"""Sequence and RL objectives (curriculum LOSS-22, LOSS-23, LOSS-24, LOSS-27); the GAN losses
(LOSS-15) live in `dlcore.losses.gan`."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore.losses.base import LOSSES, finish
from dlcore.losses.classification import softmax_cross_entropy
from dlcore.losses.regression import huber_loss


@LOSSES.register("next_token_cross_entropy")
def next_token_cross_entropy(logits: jnp.ndarray, tokens: jnp.ndarray, *, token_mask=None,
                             weights=None, mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-22 causal LM loss: -log p(x_{t+1} | x_{<=t}), logits[:, t] predicting tokens[:, t+1].

  Values are per token (B, T-1); `token_mask` (B, T) marks real (non-pad) tokens, so the mean
  is over real target tokens.
  """
  values = softmax_cross_entropy(logits[:, :-1], tokens[:, 1:])
  tm = None if token_mask is None else jnp.asarray(token_mask, values.dtype)[:, 1:]
  per_seq = None
  for f in (weights, mask):
    if f is not None:
      f = jnp.asarray(f, values.dtype)[:, None]
      per_seq = f if per_seq is None else per_seq * f
  factor = tm if per_seq is None else (per_seq if tm is None else tm * per_seq)
  if factor is not None:
    factor = jnp.broadcast_to(factor, values.shape)
  return finish(values, None, factor, reduction)


def policy_gradient_loss(logits: jnp.ndarray, actions: jnp.ndarray, returns: jnp.ndarray, *,
                         baseline: jnp.ndarray | None = None, weights=None, mask=None,
                         reduction: str = "none") -> jnp.ndarray:
  """LOSS-23 REINFORCE surrogate -log pi(a_t | s_t) * R_t (002 eq.89-91), per step.

  With a `baseline` (e.g. V(s_t)) the weight is the advantage A_t = R_t - b_t; returns and
  baseline are not differentiated.
  """
  adv = jnp.asarray(returns) if baseline is None else jnp.asarray(returns) - baseline
  values = softmax_cross_entropy(logits, actions) * jax.lax.stop_gradient(adv)
  return finish(values, weights, mask, reduction)


def td_loss(q_values: jnp.ndarray, actions: jnp.ndarray, rewards: jnp.ndarray,
            next_q_target: jnp.ndarray, dones: jnp.ndarray, *, gamma: float = 0.99,
            delta: float | None = 1.0, next_q_online: jnp.ndarray | None = None, weights=None,
            mask=None, reduction: str = "none") -> jnp.ndarray:
  """LOSS-24 DQN TD loss on Q(s,a) - y, y = r + gamma (1 - done) max_a' Q_target(s', a').

  Double DQN (van Hasselt et al. 2016) when `next_q_online` is given: the online network picks
  a* = argmax_a' Q_online(s', a') and the target network scores it, y = r + gamma (1 - done)
  Q_target(s', a*). `dones` are terminal states only (a time limit is not terminal).
  Huber with `delta` (DQN's default 1.0), or 0.5 (Q - y)^2 when delta is None. y is constant.
  """
  q_sa = jnp.take_along_axis(q_values, jnp.asarray(actions)[:, None].astype(jnp.int32), -1)[:, 0]
  if next_q_online is None:
    next_value = next_q_target.max(axis=-1)
  else:
    best = jnp.argmax(next_q_online, axis=-1)[:, None]
    next_value = jnp.take_along_axis(next_q_target, best, -1)[:, 0]
  y = rewards + gamma * (1.0 - jnp.asarray(dones, q_sa.dtype)) * next_value
  y = jax.lax.stop_gradient(y)
  if delta is None:
    values = 0.5 * (q_sa - y)**2
  else:
    values = huber_loss(q_sa, y, delta=delta)
  return finish(values, weights, mask, reduction)


def ppo_clip_loss(log_probs: jnp.ndarray, old_log_probs: jnp.ndarray, advantages: jnp.ndarray,
                  *, clip_eps: float = 0.2, weights=None, mask=None,
                  reduction: str = "none") -> jnp.ndarray:
  """LOSS-27 PPO clipped surrogate (Schulman et al. 2017), per step, to minimise:

    -min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t),   rho_t = pi(a_t|s_t) / pi_old(a_t|s_t).

  `old_log_probs` and `advantages` are constants (the rollout's)."""
  ratio = jnp.exp(log_probs - jax.lax.stop_gradient(old_log_probs))
  adv = jax.lax.stop_gradient(advantages)
  values = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv)
  return finish(values, weights, mask, reduction)


def value_loss(values: jnp.ndarray, targets: jnp.ndarray, *, old_values: jnp.ndarray | None = None,
               clip_eps: float | None = None, weights=None, mask=None,
               reduction: str = "none") -> jnp.ndarray:
  """The critic's regression loss 0.5 (V(s_t) - R_t)^2 (canonical MSE, LOSS-23 note).

  With `clip_eps` and `old_values` (PPO's value clipping), the pessimistic
  0.5 max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)."""
  targets = jax.lax.stop_gradient(targets)
  err = (values - targets)**2
  if clip_eps is not None:
    old = jax.lax.stop_gradient(old_values)
    clipped = old + jnp.clip(values - old, -clip_eps, clip_eps)
    err = jnp.maximum(err, (clipped - targets)**2)
  return finish(0.5 * err, weights, mask, reduction)
