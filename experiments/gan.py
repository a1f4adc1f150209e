"""GANs (ARC-33, LOSS-15; Goodfellow et al. 2014) on MNIST: a DCGAN (`dlcore.models.gan`)
trained by the minimax game

  min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],   z ~ N(0, I)

as two parts of one `TrainState`, 'discriminator' and 'generator', each with its own Optax
optimizer (`optimizer.discriminator`, `optimizer.generator`; DCGAN: Adam 2e-4, β₁ = 0.5). One
training step updates D on a real batch and a fresh fake batch (fakes are constants for D),
then G against the new D on another draw of z (`make_train_step` in declared order):

  D: minimise -[log D(x) + log(1 - D(G(z)))]
  G: `loss.generator` 'minimax': minimise log(1 - D(G(z))) (the saturating form of ARC-33), or
     'non_saturating' (default): minimise -log D(G(z))

Images are scaled to [-1, 1] (the generator ends in tanh). The generator's BatchNorm uses
batch statistics in training (its running averages are updated by the G step) and the
running averages when sampling. Named streams: 'latent' (z of both updates).

Reported per step: discriminator/loss, generator/loss, discriminator/d_real (mean D(x)),
discriminator/d_fake (mean D(G(z))), the parts' grad_norm. Evaluators (`config.evals`):
'samples' (a grid of G(z) at fixed z, plots/<name>_<step>.png) and 'quality' (FID (MNIST
classifier), Inception-style score, confident share of `num_samples` samples;
`dlcore.evals.sample_quality`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcore.config import cfg_get
from dlcore.errors import ConfigError
from dlcore.losses.gan import GENERATOR_LOSSES, gan_discriminator_loss, gan_generator_loss
from dlcore.metrics import Average
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train.generative import image_evaluators, load_images, to_signed
from dlcore.train.loop import LoopSettings
from dlcore.train.state import Part, TrainState
from dlcore.train.step import DEFAULT_STREAMS, make_train_step
from dlcore.train.task import Task

GENERATOR, DISCRIMINATOR = "generator", "discriminator"
STREAMS = DEFAULT_STREAMS + ("latent",)


def _mean(values: jnp.ndarray) -> Average:
  return Average.from_values(values, jnp.ones_like(values))


def make_task(config) -> Task:
  data = load_images(config)
  channels = data.shape[-1]
  settings = LoopSettings.from_config(config, data.loader.steps_per_epoch)
  gen = build_model(config.model.generator, channels)
  disc = build_model(config.model.discriminator, 1)
  latent_dim = int(gen.latent_dim)
  kind = str(cfg_get(config.loss, "generator", "non_saturating"))
  if kind not in GENERATOR_LOSSES:
    raise ConfigError(f"loss.generator={kind!r} is unknown; valid: {', '.join(GENERATOR_LOSSES)}.")
  txs = {p: build_optimizer(config.optimizer[p], settings.num_steps)[0]
         for p in (DISCRIMINATOR, GENERATOR)}

  def init(rng):
    g_key, d_key, train_key = jax.random.split(rng, 3)
    g_vars = dict(gen.init(g_key, jnp.zeros((2, latent_dim)), train=False))
    d_vars = dict(disc.init(d_key, jnp.zeros((2, *data.shape)), train=False))
    parts = {DISCRIMINATOR: Part.create(d_vars.pop("params"), txs[DISCRIMINATOR], d_vars),
             GENERATOR: Part.create(g_vars.pop("params"), txs[GENERATOR], g_vars)}
    return TrainState.create(rng=train_key, parts=parts)

  def generate(g_params, state, key, n):
    """G(z) in training mode: (images, G's new batch statistics)."""
    z = jax.random.normal(key, (n, latent_dim))
    g = state.part(GENERATOR)
    return gen.apply({"params": g_params, **g.model_state}, z, train=True,
                     mutable=list(g.model_state))

  def d_loss(params, state, batch, rngs):
    real = to_signed(batch["inputs"])
    fake, _ = generate(state.part(GENERATOR).params, state, jax.random.fold_in(
        rngs["latent"], 0), real.shape[0])
    logits = disc.apply({"params": params}, jnp.concatenate([real, jax.lax.stop_gradient(fake)]),
                        train=True)[:, 0]
    real_logits, fake_logits = jnp.split(logits, 2)
    loss = gan_discriminator_loss(real_logits, fake_logits)
    return loss.mean(), {"metrics": {"loss": _mean(loss),
                                     "d_real": _mean(jax.nn.sigmoid(real_logits)),
                                     "d_fake": _mean(jax.nn.sigmoid(fake_logits))}}

  def g_loss(params, state, batch, rngs):
    fake, model_state = generate(params, state, jax.random.fold_in(rngs["latent"], 1),
                                 batch["inputs"].shape[0])
    logits = disc.apply({"params": state.part(DISCRIMINATOR).params}, fake, train=True)[:, 0]
    loss = gan_generator_loss(logits, non_saturating=kind == "non_saturating")
    return loss.mean(), {"metrics": {"loss": _mean(loss)}, "model_state": model_state}

  @jax.jit
  def _sample(g_vars, key, z_count):
    return gen.apply(g_vars, jax.random.normal(key, (z_count.shape[0], latent_dim)), train=False)

  def sample_fn(state, key, n):
    return _sample(state.part(GENERATOR).eval_variables(), key, jnp.zeros((n,)))

  train_step = make_train_step({DISCRIMINATOR: d_loss, GENERATOR: g_loss}, streams=STREAMS)
  return Task(config=config, mesh=data.mesh, init=init, train_step=train_step,
              batches=data.loader, evaluators=image_evaluators(config, sample_fn, data),
              steps_per_epoch=data.loader.steps_per_epoch,
              plot_metrics=("discriminator/loss", "generator/loss", "discriminator/d_real",
                            "discriminator/d_fake"),
              summary={"data": data.describe() + f"; {settings.num_steps} steps, generator "
                                                 f"loss {kind}"},
              summary_part=GENERATOR)
