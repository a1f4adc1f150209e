"""The agents' optimizers: an Optax chain whose learning rate is an array applied last.

`make_tx(name, max_grad_norm, eps, decay)` is the chain clip_by_global_norm → scale_by_adam
('adam') or scale_by_rms ('rmsprop', the A2C optimizer) or identity ('sgd'), without the
learning rate. `apply_gradients(part, grads, lr)` then takes θ ← θ − lr · u. Keeping lr out of
the chain makes it an ordinary traced value: one jitted program trains agents with different
learning rates side by side (the lr × γ sweep, `vmap` over agents) and anneals it linearly.
"""

from __future__ import annotations

import jax
import optax

from dlcore.errors import ConfigError
from dlcore.train.state import Part

OPTIMIZERS = ("adam", "rmsprop", "sgd")


def make_tx(name: str = "adam", max_grad_norm: float = 0.0, eps: float = 1e-5,
            decay: float = 0.99) -> optax.GradientTransformation:
  """The update direction u (the learning rate is applied by `apply_gradients`)."""
  if name not in OPTIMIZERS:
    raise ConfigError(f"rl.optimizer={name!r}; valid optimizers: {', '.join(OPTIMIZERS)}.")
  scale = {"adam": lambda: optax.scale_by_adam(eps=eps),
           "rmsprop": lambda: optax.scale_by_rms(decay=decay, eps=eps),
           "sgd": optax.identity}[name]()
  clip = optax.clip_by_global_norm(max_grad_norm) if max_grad_norm > 0 else optax.identity()
  return optax.chain(clip, scale)


def apply_gradients(part: Part, grads, lr) -> Part:
  """θ ← θ − lr · tx(∇θ)."""
  updates, opt_state = part.tx.update(grads, part.opt_state, part.params)
  params = jax.tree.map(lambda p, u: p - lr * u, part.params, updates)
  return part.replace(params=params, opt_state=opt_state)


def annealed(lr, update_index, num_updates: int, anneal: bool):
  """lr (1 − k / K) for update k of K when `anneal` (PPO's linear decay to 0), else lr."""
  if not anneal:
    return lr
  return lr * (1.0 - update_index / max(num_updates, 1))
