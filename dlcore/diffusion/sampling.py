"""DDPM ancestral sampling (Ho et al. 2020, Algorithm 2) and DDIM (Song et al. 2021) under
`lax.scan`.

At step t (index i), with x̂_0 = (x_t - √(1 - ᾱ_t) ε̂) / √ᾱ_t:

  μ̃(x_t, x̂_0) = √ᾱ_{t-1} β_t / (1 - ᾱ_t) · x̂_0 + √α_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t) · x_t
              = (x_t - β_t / √(1 - ᾱ_t) · ε̂) / √α_t              (the paper's form)
  x_{t-1} = μ̃ + σ_t z,  z ~ N(0, I) (z = 0 at the last step),
  σ_t² = β_t ('beta') or β̃_t = (1 - ᾱ_{t-1}) / (1 - ᾱ_t) β_t ('posterior')

`clip_x0` clips x̂_0 to [-1, 1] and takes the first form of μ̃ (common with few respaced
steps); without it the paper's form (the two agree: tests/test_diffusion.py).

DDIM (eq. 12 of Song et al.), on the same (respaced) schedule, with ε̂ re-derived from the
(clipped) x̂_0:

  x_{t-1} = √ᾱ_{t-1} x̂_0 + √(1 - ᾱ_{t-1} - σ_t²) ε̂ + σ_t z,
  σ_t = η √((1 - ᾱ_{t-1}) / (1 - ᾱ_t)) √(1 - ᾱ_t / ᾱ_{t-1})

η = 0 is deterministic given x_T; η = 1 has the posterior variance β̃ of ancestral sampling.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from dlcore.diffusion.schedules import Schedule

VARIANCES = ("beta", "posterior")
SAMPLERS = ("ancestral", "ddim")


def posterior_mean(schedule: Schedule, x_t: jnp.ndarray, eps: jnp.ndarray, i: jnp.ndarray,
                   clip_x0: bool = False) -> jnp.ndarray:
  """μ̃ of step index i (a scalar) from x_t and ε̂ (module docstring)."""
  beta, alpha, abar = schedule.betas[i], schedule.alphas[i], schedule.alpha_bars[i]
  abar_prev, rest_prev = _previous(schedule, i)
  rest = schedule.one_minus_alpha_bars[i]
  if not clip_x0:  # the paper's form (the same value, better conditioned at small t)
    return (x_t - beta / jnp.sqrt(rest) * eps) / jnp.sqrt(alpha)
  x0 = jnp.clip((x_t - jnp.sqrt(rest) * eps) / jnp.sqrt(abar), -1.0, 1.0)
  return jnp.sqrt(abar_prev) * beta / rest * x0 + jnp.sqrt(alpha) * rest_prev / rest * x_t


def _previous(schedule: Schedule, i: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
  """(ᾱ_{t-1}, 1 - ᾱ_{t-1}) of step index i (1 and 0 before the first step)."""
  j = jnp.maximum(i - 1, 0)
  return (jnp.where(i > 0, schedule.alpha_bars[j], 1.0),
          jnp.where(i > 0, schedule.one_minus_alpha_bars[j], 0.0))


def ancestral_step(eps_fn: Callable, schedule: Schedule, x_t: jnp.ndarray, i: jnp.ndarray,
                   key: jax.Array, variance: str = "beta", clip_x0: bool = False) -> jnp.ndarray:
  """x_{t-1} from x_t at step index i: μ̃ + σ_t z, no noise at i = 0."""
  t = jnp.full((x_t.shape[0],), schedule.timesteps[i], jnp.int32)
  mean = posterior_mean(schedule, x_t, eps_fn(x_t, t), i, clip_x0)
  beta = schedule.betas[i]
  if variance == "posterior":
    beta = beta * _previous(schedule, i)[1] / schedule.one_minus_alpha_bars[i]
  noise = jax.random.normal(key, x_t.shape, x_t.dtype)
  return mean + jnp.where(i > 0, jnp.sqrt(beta), 0.0) * noise


def ddim_step(eps_fn: Callable, schedule: Schedule, x_t: jnp.ndarray, i: jnp.ndarray,
              key: jax.Array, eta: float = 0.0, clip_x0: bool = False) -> jnp.ndarray:
  """x_{t-1} from x_t at step index i by the DDIM update (module docstring)."""
  t = jnp.full((x_t.shape[0],), schedule.timesteps[i], jnp.int32)
  eps = eps_fn(x_t, t)
  abar, rest = schedule.alpha_bars[i], schedule.one_minus_alpha_bars[i]
  abar_prev, rest_prev = _previous(schedule, i)
  x0 = (x_t - jnp.sqrt(rest) * eps) / jnp.sqrt(abar)
  if clip_x0:
    x0 = jnp.clip(x0, -1.0, 1.0)
    eps = (x_t - jnp.sqrt(abar) * x0) / jnp.sqrt(rest)
  sigma2 = eta**2 * rest_prev / rest * (1.0 - abar / abar_prev)
  noise = jax.random.normal(key, x_t.shape, x_t.dtype)
  return (jnp.sqrt(abar_prev) * x0 + jnp.sqrt(jnp.maximum(rest_prev - sigma2, 0.0)) * eps
          + jnp.sqrt(sigma2) * noise)


def sample(eps_fn: Callable, schedule: Schedule, shape: tuple, key: jax.Array,
           variance: str = "beta", clip_x0: bool = False, sampler: str = "ancestral",
           eta: float = 0.0) -> jnp.ndarray:
  """x_0 from x_T ~ N(0, I) by `schedule.num_steps` ancestral or DDIM steps (one
  `lax.scan`); the step at index i uses the key fold_in(key, i)."""
  x_t = jax.random.normal(jax.random.fold_in(key, -1 & 0x7FFFFFFF), shape)

  def body(x, i):
    k = jax.random.fold_in(key, i)
    if sampler == "ddim":
      return ddim_step(eps_fn, schedule, x, i, k, eta, clip_x0), None
    return ancestral_step(eps_fn, schedule, x, i, k, variance, clip_x0), None

  x0, _ = jax.lax.scan(body, x_t, jnp.arange(schedule.num_steps - 1, -1, -1))
  return x0
