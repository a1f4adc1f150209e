"""Denoising diffusion (ARC-34, GEN-7; Ho et al. 2020, DDPM) on MNIST: a small U-Net
(`dlcore.models.unet`, LAY-22 / ARC-16) learns to predict the noise ε of

  x_t = √ᾱ_t x_0 + √(1 - ᾱ_t) ε,   t ~ U{1..T},   loss ||ε - ε_θ(x_t, t)||²

under a linear or cosine β schedule (`diffusion.schedule`, `diffusion.num_steps` = T;
`dlcore.diffusion`). Samples come from x_T ~ N(0, I) by ancestral steps (one `lax.scan`),
x_{t-1} = (x_t - β_t / √(1 - ᾱ_t) ε_θ) / √α_t + σ_t z, either all T of them or, with
`diffusion.sampling_steps` = K < T, on K evenly spaced steps of the same ᾱ (the respaced
schedule, `Schedule.respaced`); `diffusion.variance` 'beta' (σ² = β) or 'posterior'
(σ² = β̃), `diffusion.clip_x0` clips the predicted x_0 to [-1, 1]. `diffusion.sampler='ddim'`
takes DDIM steps instead (Song et al. 2021; `diffusion.eta` 0: deterministic).

Images are scaled to [-1, 1]; one part 'model' (with `optimizer.ema_decay` > 0 sampling uses
the EMA parameters); stream 'noise' (t and ε of each step). Evaluators (`config.evals`):
'samples' (a grid from fixed noise, plots/<name>_<step>.png) and 'quality' (FID (MNIST
classifier), Inception-style score, confident share; `dlcore.evals.sample_quality`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore.config import cfg_get
from dlcore.diffusion import epsilon_loss, make_schedule, sample
from dlcore.diffusion.sampling import SAMPLERS, VARIANCES
from dlcore.errors import ConfigError
from dlcore.metrics import Average
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train.generative import image_evaluators, load_images, to_signed
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import DEFAULT_STREAMS, make_train_step
from dlcore.train.task import Task

STREAMS = DEFAULT_STREAMS + ("noise",)


def make_task(config) -> Task:
  data = load_images(config)
  d = config.diffusion
  schedule = make_schedule(*(t(cfg_get(d, k, v)) for t, k, v in (
      (str, "schedule", "linear"), (int, "num_steps", 1000), (float, "beta_start", 1e-4),
      (float, "beta_end", 0.02))))
  sampling = schedule.respaced(int(cfg_get(d, "sampling_steps", 0)) or schedule.num_steps)
  variance, clip = str(cfg_get(d, "variance", "beta")), bool(cfg_get(d, "clip_x0", False))
  sampler, eta = str(cfg_get(d, "sampler", "ancestral")), float(cfg_get(d, "eta", 0.0))
  for key, value, valid in (("variance", variance, VARIANCES), ("sampler", sampler, SAMPLERS)):
    if value not in valid:
      raise ConfigError(f"diffusion.{key}={value!r} is unknown; valid: {', '.join(valid)}.")
  settings = LoopSettings.from_config(config, data.loader.steps_per_epoch)
  model = build_model(config.model, data.shape[-1])
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)

  def init(rng):
    init_key, train_key = jax.random.split(rng)
    params = model.init(init_key, jnp.zeros((2, *data.shape)), jnp.zeros((2,), jnp.int32))
    return TrainState.create(rng=train_key, params=params["params"], tx=tx)

  def loss_fn(params, state, batch, rngs):
    eps_fn = lambda x, t: model.apply({"params": params}, x, t, train=True)
    loss = epsilon_loss(eps_fn, schedule, to_signed(batch["inputs"]), rngs["noise"])
    return loss.mean(), {"metrics": {"loss": Average.from_values(loss, jnp.ones_like(loss))}}

  @jax.jit
  def _sample(params, key, shape_of):
    eps_fn = lambda x, t: model.apply({"params": params}, x, t)
    return sample(eps_fn, sampling, shape_of.shape, key, variance, clip, sampler, eta)

  def sample_fn(state, key, n):
    return _sample(state.eval_params(), key, jnp.zeros((n, *data.shape), jnp.bool_))

  return Task(config=config, mesh=data.mesh, init=init,
              train_step=make_train_step(loss_fn, streams=STREAMS), batches=data.loader,
              evaluators=image_evaluators(config, sample_fn, data),
              steps_per_epoch=data.loader.steps_per_epoch, plot_metrics=("loss",),
              summary={"data": data.describe() + f"; {settings.num_steps} steps; "
                                                 f"{schedule.num_steps}-step "
                                                 f"{cfg_get(d, 'schedule', 'linear')} schedule, "
                                                 f"{sampler} sampling with {sampling.num_steps} "
                                                 f"steps"})
