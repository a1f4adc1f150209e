"""Experience replay (RL-6) as device arrays: a circular buffer of transitions inside the state.

The buffer is a pytree of fixed-size arrays, so it lives in the jitted step's carry (and in
checkpoints) like any other state. `add` writes a batch of transitions at the write position,
overwriting the oldest once full; `sample` draws uniformly among the stored ones. Sampling
uniformly from old experience breaks the correlation between consecutive steps, which is what
makes the Q-learning regression stable (concept question 002 §11.1.5).
"""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class ReplayBuffer:
  obs: jax.Array          # [C, *obs_shape]
  action: jax.Array       # [C]
  reward: jax.Array       # [C]
  next_obs: jax.Array     # [C, *obs_shape] (the true next state, also at an episode's end)
  terminated: jax.Array   # [C] (the next state is terminal: no bootstrap)
  position: jax.Array     # the next slot to write
  size: jax.Array         # how many slots hold a transition

  @property
  def capacity(self) -> int:
    return self.action.shape[0]


def init(capacity: int, obs_shape: tuple, obs_dtype) -> ReplayBuffer:
  zeros_obs = jnp.zeros((capacity,) + tuple(obs_shape), obs_dtype)
  return ReplayBuffer(obs=zeros_obs, action=jnp.zeros((capacity,), jnp.int32),
                      reward=jnp.zeros((capacity,), jnp.float32), next_obs=zeros_obs,
                      terminated=jnp.zeros((capacity,), bool), position=jnp.zeros((), jnp.int32),
                      size=jnp.zeros((), jnp.int32))


def add(buf: ReplayBuffer, obs, action, reward, next_obs, terminated) -> ReplayBuffer:
  """Store a batch of n transitions (n <= capacity) at positions p, p+1, ... (mod capacity)."""
  n = action.shape[0]
  idx = (buf.position + jnp.arange(n)) % buf.capacity
  put = lambda store, x: store.at[idx].set(x.astype(store.dtype))
  return buf.replace(obs=put(buf.obs, obs), action=put(buf.action, action),
                     reward=put(buf.reward, reward), next_obs=put(buf.next_obs, next_obs),
                     terminated=put(buf.terminated, terminated),
                     position=(buf.position + n) % buf.capacity,
                     size=jnp.minimum(buf.size + n, buf.capacity))


def sample(buf: ReplayBuffer, key: jax.Array, batch_size: int) -> dict:
  """`batch_size` transitions drawn uniformly (with replacement) from the stored ones."""
  idx = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buf.size, 1))
  return {"obs": buf.obs[idx], "action": buf.action[idx], "reward": buf.reward[idx],
          "next_obs": buf.next_obs[idx], "terminated": buf.terminated[idx]}
