"""Returns and advantages over a rollout, written once for every algorithm (RL-3, RL-5, RL-8).

Arrays are time-major, [T, ...] (any batch shape after T). `done_t` marks that the episode
ended at step t (its next state is terminal, or the episode was truncated there, see below), so
nothing flows back across it.

- `discounted_returns`: R_t = r_t + γ (1 − done_t) R_{t+1}, with R_T = `bootstrap` (RL-5
  return-to-go; with bootstrap 0 and whole episodes it is Σ_{k=t}^T γ^{k−t} r_k). With
  `bootstrap` = V(s_T) it is the n-step return of A2C (each step looking ahead to the rollout's
  end), so A_t = R_t − V(s_t) estimates Q(s_t, a_t) − V(s_t).
- `gae`: δ_t = r_t + γ (1 − done_t) V(s_{t+1}) − V(s_t), A_t = δ_t + γλ (1 − done_t) A_{t+1}
  (Schulman et al. 2016); λ = 1 gives the n-step advantage above, λ = 0 the one-step TD error.
  Returns (A, A + V): the advantages and the critic's regression targets.

A truncated episode (a time limit, not a terminal state) still has value after its last step;
`bootstrap_truncated` folds γ V(s_final) into that step's reward, so the episode can be cut
(`done` = terminated or truncated) without biasing the return.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _backward(fn, init, *xs):
  """lax.scan from the last step to the first; outputs in forward order."""
  return jax.lax.scan(fn, init, xs, reverse=True)[1]


def discounted_returns(rewards: jax.Array, dones: jax.Array, gamma, bootstrap=None) -> jax.Array:
  """R_t = r_t + γ (1 − done_t) R_{t+1}, R_T = `bootstrap` (default 0): RL-5 return-to-go."""
  rewards = jnp.asarray(rewards, jnp.float32)
  keep = 1.0 - jnp.asarray(dones, jnp.float32)
  last = jnp.zeros(rewards.shape[1:], jnp.float32) if bootstrap is None else bootstrap

  def step(next_return, x):
    r, k = x
    ret = r + gamma * k * next_return
    return ret, ret

  return _backward(step, last, rewards, keep)


def gae(rewards: jax.Array, values: jax.Array, dones: jax.Array, last_value: jax.Array, gamma,
        lam) -> tuple[jax.Array, jax.Array]:
  """Generalised advantage estimates and critic targets (module docstring): (A_t, A_t + V_t)."""
  rewards = jnp.asarray(rewards, jnp.float32)
  keep = 1.0 - jnp.asarray(dones, jnp.float32)
  next_values = jnp.concatenate([values[1:], last_value[None]], axis=0)
  deltas = rewards + gamma * keep * next_values - values

  def step(next_adv, x):
    delta, k = x
    adv = delta + gamma * lam * k * next_adv
    return adv, adv

  advantages = _backward(step, jnp.zeros_like(last_value), deltas, keep)
  return advantages, advantages + values


def bootstrap_truncated(rewards: jax.Array, terminated: jax.Array, truncated: jax.Array,
                        final_values: jax.Array, gamma) -> jax.Array:
  """r_t + γ V(s_final) where the episode was truncated (not terminated) at step t."""
  cut = jnp.asarray(truncated, jnp.float32) * (1.0 - jnp.asarray(terminated, jnp.float32))
  return rewards + gamma * cut * final_values


def normalize(x: jax.Array, eps: float = 1e-8) -> jax.Array:
  """(x − mean) / (std + ε): advantage normalisation over a batch."""
  return (x - x.mean()) / (x.std() + eps)
