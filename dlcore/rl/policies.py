"""Action selection and the categorical policy distribution (RL-7..10).

- `log_prob`, `entropy`, `sample`: the categorical distribution π(a|s) = softmax(logits)_a.
- `epsilon_greedy`: with probability ε a uniformly random action, else argmax_a Q(s, a) (RL-10,
  the exploration–exploitation trade-off of value-based agents).
- `linear_epsilon`: ε decayed linearly from `start` to `end` over `duration` steps, then held
  (the DQN schedule; an `optax.linear_schedule`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def log_prob(logits: jax.Array, actions: jax.Array) -> jax.Array:
  """log π(a|s) = logits_a − logsumexp(logits)."""
  logp = jax.nn.log_softmax(logits, axis=-1)
  return jnp.take_along_axis(logp, actions[..., None].astype(jnp.int32), -1)[..., 0]


def entropy(logits: jax.Array) -> jax.Array:
  """H(π(·|s)) = −Σ_a π_a log π_a."""
  logp = jax.nn.log_softmax(logits, axis=-1)
  return -(jnp.exp(logp) * logp).sum(-1)


def sample(key: jax.Array, logits: jax.Array) -> jax.Array:
  """a ~ π(·|s), int32."""
  return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


def greedy(logits_or_q: jax.Array) -> jax.Array:
  """argmax_a, int32 (the deterministic policy used for evaluation)."""
  return jnp.argmax(logits_or_q, axis=-1).astype(jnp.int32)


def epsilon_greedy(key: jax.Array, q_values: jax.Array, epsilon) -> jax.Array:
  """argmax_a Q(s, a), replaced by a uniform random action with probability ε (per row)."""
  explore_key, action_key = jax.random.split(key)
  random_actions = jax.random.randint(action_key, q_values.shape[:-1], 0, q_values.shape[-1])
  explore = jax.random.uniform(explore_key, q_values.shape[:-1]) < epsilon
  return jnp.where(explore, random_actions, greedy(q_values)).astype(jnp.int32)


def linear_epsilon(start: float, end: float, duration: int):
  """step -> ε: `start` linearly to `end` over `duration` steps, then `end`."""
  return optax.linear_schedule(start, end, max(int(duration), 1))
