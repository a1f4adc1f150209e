"""Contrastive representation models (003 §IV self-supervised learning, §VI.4 multimodal):

  'simclr'  SimCLR (Chen et al. 2020): an encoder f (SimpleCNN conv stack -> Dense, the
            representation h = f(x) of `representation` units that a linear probe reads) and a
            projection head g (Dense -> ReLU -> Dense of `num_outputs` units); NT-Xent
            (LOSS-25) is computed on z = g(h). `model.apply(..., method='represent')` gives h.
  'clip'    CLIP-style image-text model (Radford et al. 2021): an image encoder (SimpleCNN
            stack -> Dense) and a text encoder (token embeddings averaged over the real tokens,
            then Dense -> ReLU -> Dense), both to `num_outputs` units and L2-normalised, and the
            learnable logit scale s = exp(t), t initialised to log(1/0.07) and clipped at
            log(100) as in the paper. `__call__(images, tokens)` -> (image embeddings, text
            embeddings, s); `encode_image` and `encode_text` are methods.

Token id 0 is padding (ignored by the text encoder's mean).
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from dlcore.models import MODELS
from dlcore.models.cnn.simple_cnn import SimpleCNN

MAX_LOGIT_SCALE = math.log(100.0)


def l2_normalize(x: jnp.ndarray) -> jnp.ndarray:
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


@MODELS.register("simclr")
class SimCLR(nn.Module):
  """Encoder f -> representation h; projection head g -> z (module docstring)."""
  num_outputs: int = 64
  features: Sequence[int] = (32, 64)
  representation: int = 128
  projection_hidden: int = 128

  def setup(self):
    self.encoder = SimpleCNN(self.representation, tuple(self.features))
    self.hidden = nn.Dense(self.projection_hidden)
    self.out = nn.Dense(self.num_outputs)

  def represent(self, x, train: bool = False):
    return self.encoder(x, train)

  def __call__(self, x, train: bool = False):
    return self.out(nn.relu(self.hidden(nn.relu(self.represent(x, train)))))


@MODELS.register("clip")
class CLIP(nn.Module):
  """Image and text towers into one normalised space, and the logit scale (module docstring)."""
  num_outputs: int = 64
  vocab_size: int = 32
  features: Sequence[int] = (32, 64)
  image_hidden: int = 128
  text_features: int = 64

  def setup(self):
    self.image = SimpleCNN(self.image_hidden, tuple(self.features))
    self.image_out = nn.Dense(self.num_outputs)
    self.embed = nn.Embed(self.vocab_size, self.text_features)
    self.text_hidden = nn.Dense(self.text_features)
    self.text_out = nn.Dense(self.num_outputs)
    self.log_scale = self.param("log_scale", lambda _: jnp.asarray(math.log(1 / 0.07)))

  def encode_image(self, images, train: bool = False):
    return l2_normalize(self.image_out(nn.relu(self.image(images, train))))

  def encode_text(self, tokens):
    real = (tokens > 0).astype(jnp.float32)[..., None]
    mean = (self.embed(tokens) * real).sum(-2) / jnp.maximum(real.sum(-2), 1.0)
    return l2_normalize(self.text_out(nn.relu(self.text_hidden(mean))))

  def logit_scale(self):
    return jnp.exp(jnp.minimum(self.log_scale, MAX_LOGIT_SCALE))

  def __call__(self, images, tokens, train: bool = False):
    return self.encode_image(images, train), self.encode_text(tokens), self.logit_scale()
