"""β schedules and the forward process of a DDPM (ARC-34; Ho et al. 2020).

  linear:  β_t = β_1 + (β_T - β_1) (t - 1) / (T - 1),  β_1 = 1e-4, β_T = 0.02   (Ho et al.)
  cosine:  ᾱ_t = f(t) / f(0), f(t) = cos²(π/2 · (t/T + s) / (1 + s)), s = 0.008,
           β_t = min(1 - ᾱ_t / ᾱ_{t-1}, 0.999)                        (Nichol & Dhariwal 2021)
  α_t = 1 - β_t,  ᾱ_t = Π_{s ≤ t} α_s

  q(x_t | x_0) = N(√ᾱ_t x_0, (1 - ᾱ_t) I):   x_t = √ᾱ_t x_0 + √(1 - ᾱ_t) ε,  ε ~ N(0, I)
  L_simple = E_{t, x_0, ε} ||ε - ε_θ(x_t, t)||²   (mean over pixels; t uniform over the steps)

Arrays are indexed 0 .. T-1 for t = 1 .. T; the network sees the index. A schedule respaced to K
steps (`Schedule.respaced`, Nichol & Dhariwal §4) keeps K of the indices, τ_1 < ... < τ_K, and
the β' that give the same ᾱ at them: β'_k = 1 - ᾱ_{τ_k} / ᾱ_{τ_{k-1}} (ᾱ_{τ_0} = 1), so
ancestral sampling can take fewer, larger steps with the network trained on all T.
"""

from __future__ import annotations

from typing import Callable

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from dlcore.errors import ConfigError

SCHEDULES = ("linear", "cosine")


@flax.struct.dataclass
class Schedule:
  """β_t, α_t, ᾱ_t and the network's timestep index of each of the schedule's steps."""
  betas: jnp.ndarray
  alphas: jnp.ndarray
  alpha_bars: jnp.ndarray
  one_minus_alpha_bars: jnp.ndarray  # 1 - ᾱ_t from float64 (no float32 cancellation near t = 1)
  timesteps: jnp.ndarray  # the index the ε-network was trained with at each step

  @classmethod
  def from_betas(cls, betas, timesteps=None) -> "Schedule":
    betas = np.asarray(betas, np.float64)
    alpha_bars = np.cumprod(1.0 - betas)
    steps = np.arange(len(betas)) if timesteps is None else np.asarray(timesteps)
    return cls(betas=jnp.asarray(betas, jnp.float32), alphas=jnp.asarray(1.0 - betas, jnp.float32),
               alpha_bars=jnp.asarray(alpha_bars, jnp.float32),
               one_minus_alpha_bars=jnp.asarray(1.0 - alpha_bars, jnp.float32),
               timesteps=jnp.asarray(steps, jnp.int32))

  @property
  def num_steps(self) -> int:
    return int(self.betas.shape[0])

  def respaced(self, num_steps: int) -> "Schedule":
    """The schedule on `num_steps` evenly spaced indices of this one (the last always kept)."""
    t = self.num_steps
    if not 1 <= num_steps <= t:
      raise ConfigError(f"sampling steps must be in 1..{t} (the training steps), got {num_steps}.")
    keep = np.unique(np.round(np.linspace(0, t - 1, num_steps)).astype(np.int64))
    abar = np.cumprod(1.0 - np.asarray(self.betas, np.float64))[keep]  # float64: tiny β stay exact
    prev = np.concatenate([[1.0], abar[:-1]])
    return Schedule.from_betas(1.0 - abar / prev, np.asarray(self.timesteps)[keep])


def linear_betas(num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
  return np.linspace(beta_start, beta_end, num_steps, dtype=np.float64)


def cosine_betas(num_steps: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
  f = lambda t: np.cos((t / num_steps + s) / (1 + s) * np.pi / 2)**2
  t = np.arange(num_steps + 1, dtype=np.float64)
  abar = f(t) / f(0.0)
  return np.minimum(1.0 - abar[1:] / abar[:-1], max_beta)


def make_schedule(name: str, num_steps: int, beta_start: float = 1e-4,
                  beta_end: float = 0.02) -> Schedule:
  """The `name` ('linear' or 'cosine') schedule of `num_steps` steps."""
  if num_steps < 1:
    raise ConfigError(f"diffusion.num_steps must be >= 1, got {num_steps}.")
  if name == "linear":
    return Schedule.from_betas(linear_betas(num_steps, beta_start, beta_end))
  if name == "cosine":
    return Schedule.from_betas(cosine_betas(num_steps))
  raise ConfigError(f"diffusion.schedule={name!r} is unknown; valid: {', '.join(SCHEDULES)}.")


def _per_example(values: jnp.ndarray, ndim: int) -> jnp.ndarray:
  return values.reshape(values.shape + (1,) * (ndim - 1))


def q_sample(schedule: Schedule, x0: jnp.ndarray, t: jnp.ndarray, noise: jnp.ndarray
             ) -> jnp.ndarray:
  """x_t = √ᾱ_t x_0 + √(1 - ᾱ_t) ε for step indices t [B] (module docstring)."""
  abar = _per_example(schedule.alpha_bars[t], x0.ndim)
  return jnp.sqrt(abar) * x0 + jnp.sqrt(_per_example(schedule.one_minus_alpha_bars[t],
                                                     x0.ndim)) * noise


def epsilon_loss(eps_fn: Callable, schedule: Schedule, x0: jnp.ndarray, key: jax.Array
                 ) -> jnp.ndarray:
  """Per-example ||ε - ε_θ(x_t, t)||² (mean over pixels), t ~ U{0..T-1}, ε ~ N(0, I)."""
  t_key, e_key = jax.random.split(key)
  t = jax.random.randint(t_key, (x0.shape[0],), 0, schedule.num_steps)
  noise = jax.random.normal(e_key, x0.shape, x0.dtype)
  eps = eps_fn(q_sample(schedule, x0, t, noise), schedule.timesteps[t])
  return jnp.mean((noise - eps)**2, axis=tuple(range(1, x0.ndim)))
