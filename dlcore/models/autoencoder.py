"""ARC-29..32 MLP autoencoders on flattened images with pixels in [0, 1].

'autoencoder' (ARC-29; ARC-30 denoising and ARC-31 sparse are training choices of the same
module, see experiments/autoencoder.py):
  h = code_act(W_c enc(x) + b_c)    enc = Dense + act per entry of `hidden`; `latent` units
  l = dec(h)                        dec mirrors enc (reversed `hidden`), then Dense(num_outputs)
  x̂ = σ(l)                         `__call__` returns (l, h): logits, so the loss picks
                                        ||x − σ(l)||² or the Bernoulli NLL
'vae' (ARC-32, Kingma & Welling 2014; canonical, the seed gives no formula):
  (μ, log σ²) = (W_μ enc(x) + b_μ, W_v enc(x) + b_v)
  z = μ + σ ⊙ ε,  ε ~ N(0, I) from the 'latent' rng stream (the reparameterisation: z is a
  differentiable function of μ and σ, so gradients reach the encoder)
  l = dec(z): Bernoulli logits; `__call__` returns (l, μ, log σ²). With `sample=False` z = μ.
The flax example's sizes are the default: 784-500-20-500-784 (hidden=(500,), latent=20).

Methods for `model.apply(variables, ..., method=...)`: 'encode' (x -> h, or x -> (μ, log σ²)),
'decode' (code -> logits), 'generate' (code -> σ(logits), pixels in [0, 1]), 'reconstruct'
(x -> σ(dec(h)), the VAE's at z = μ); the VAE also has 'sample_prior' (n draws z ~ N(0, I) from
the 'latent' stream, decoded to pixels). Parameters: encoder/encoder_i, code (or latent_mean and
latent_logvar), decoder/decoder_i, output.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.mlp import check_features
from dlcore.nn import get_activation

CODE_ACTIVATIONS = ("linear", "sigmoid", "relu", "tanh")


def _check(fields: Mapping[str, Any]) -> None:
  if "hidden" in fields:
    check_features(fields["hidden"], "model.hidden")
  latent = fields.get("latent", 1)
  if isinstance(latent, bool) or not isinstance(latent, int) or latent < 1:
    raise ConfigError(f"model.latent must be an int >= 1 (the code size), got {latent!r}.")


class _Coder(nn.Module):
  """Dense + activation per entry of `features` (the encoder, or the decoder's hidden part)."""
  features: Sequence[int]
  activation: str
  prefix: str

  @nn.compact
  def __call__(self, x):
    act = get_activation(self.activation)
    for i, width in enumerate(self.features):
      x = act(nn.Dense(width, name=f"{self.prefix}_{i}")(x))
    return x


@MODELS.register("autoencoder")
class Autoencoder(nn.Module):
  """ARC-29 x -> code h (`latent` units) -> reconstruction logits; returns (logits, h)."""
  num_outputs: int  # pixels per image (784 for MNIST)
  hidden: Sequence[int] = (256,)
  latent: int = 32
  activation: str = "relu"
  code_activation: str = "linear"  # 'sigmoid' for the KL sparsity penalty (LOSS-18)

  @classmethod
  def check_fields(cls, fields: Mapping[str, Any]) -> None:
    _check(fields)
    act = fields.get("code_activation", "linear")
    if act not in CODE_ACTIVATIONS:
      raise ConfigError(f"model.code_activation={act!r}; valid: {', '.join(CODE_ACTIVATIONS)}.")

  def setup(self):
    self.encoder = _Coder(tuple(self.hidden), self.activation, "encoder")
    self.code = nn.Dense(self.latent)
    self.decoder = _Coder(tuple(reversed(self.hidden)), self.activation, "decoder")
    self.output = nn.Dense(self.num_outputs)

  def encode(self, x):
    h = self.code(self.encoder(x.reshape(x.shape[0], -1)))
    return get_activation(self.code_activation)(h)

  def decode(self, h):
    return self.output(self.decoder(h))

  def generate(self, h):
    return jax.nn.sigmoid(self.decode(h))

  def reconstruct(self, x):
    return self.generate(self.encode(x))

  def __call__(self, x, train: bool = False):
    h = self.encode(x)
    return self.decode(h), h


@MODELS.register("vae")
class VAE(nn.Module):
  """ARC-32 VAE: x -> (μ, log σ²) -> z = μ + σ ε -> Bernoulli logits l; returns (l, μ, log σ²)."""
  num_outputs: int
  hidden: Sequence[int] = (500,)
  latent: int = 20
  activation: str = "relu"

  @classmethod
  def check_fields(cls, fields: Mapping[str, Any]) -> None:
    _check(fields)

  def setup(self):
    self.encoder = _Coder(tuple(self.hidden), self.activation, "encoder")
    self.latent_mean = nn.Dense(self.latent)
    self.latent_logvar = nn.Dense(self.latent)
    self.decoder = _Coder(tuple(reversed(self.hidden)), self.activation, "decoder")
    self.output = nn.Dense(self.num_outputs)

  def encode(self, x):
    e = self.encoder(x.reshape(x.shape[0], -1))
    return self.latent_mean(e), self.latent_logvar(e)

  def decode(self, z):
    return self.output(self.decoder(z))

  def generate(self, z):
    return jax.nn.sigmoid(self.decode(z))

  def reconstruct(self, x):
    return self.generate(self.encode(x)[0])  # decoded at z = μ

  def sample_prior(self, n: int):
    return self.generate(jax.random.normal(self.make_rng("latent"), (n, self.latent)))

  def __call__(self, x, train: bool = False, sample: bool = True):
    mean, logvar = self.encode(x)
    z = reparameterize(self.make_rng("latent"), mean, logvar) if sample else mean
    return self.decode(z), mean, logvar


def reparameterize(rng: jax.Array, mean: jax.Array, logvar: jax.Array) -> jax.Array:
  """z = μ + exp(½ log σ²) ⊙ ε, ε ~ N(0, I): a sample of N(μ, σ²) differentiable in μ and σ."""
  return mean + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mean.shape, mean.dtype)
