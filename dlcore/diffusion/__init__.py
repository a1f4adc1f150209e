"""Denoising diffusion (ARC-34, GEN-7; Ho et al. 2020, DDPM): β schedules, the forward process
q(x_t | x_0), the ε-prediction loss, ancestral and DDIM sampling under `lax.scan`. The
ε-network is any function eps_fn(x_t, t) -> ε̂ (a `dlcore.models.unet.UNet` in
experiments/diffusion.py), so this package depends on no model: it sits with dlcore.decode,
above the leaves.
"""

from dlcore.diffusion.sampling import ancestral_step, ddim_step, posterior_mean, sample
from dlcore.diffusion.schedules import (SCHEDULES, Schedule, epsilon_loss, make_schedule,
                                        q_sample)

__all__ = ["SCHEDULES", "Schedule", "make_schedule", "q_sample", "epsilon_loss",
           "ancestral_step", "ddim_step", "posterior_mean", "sample"]
