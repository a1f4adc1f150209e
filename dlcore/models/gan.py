"""DCGAN generator and discriminator for 28x28 images (ARC-33; Radford et al. 2016), NHWC.

  generator     z [B, latent_dim] -> Dense(7·7·2f) -> BN -> ReLU -> [7, 7, 2f]
                -> ConvT(f, 4x4, stride 2) -> BN -> ReLU              [14, 14, f]
                -> ConvT(channels, 4x4, stride 2) -> tanh             [28, 28, channels] in [-1, 1]
  discriminator x [B, 28, 28, c] -> Conv(f, 4x4, s2) -> LeakyReLU(0.2)   [14, 14, f]
                -> Conv(2f, 4x4, s2) -> LeakyReLU(0.2)                   [7, 7, 2f]
                -> flatten -> Dense(num_outputs) logit of D(x) = sigmoid(logit)

As in DCGAN: strided (transposed) convolutions instead of pooling, BatchNorm in the generator
(batch statistics in training, running averages in evaluation), LeakyReLU in the
discriminator, weights drawn from N(0, 0.02). The generator's `num_outputs` is its number of
image channels; `features` is f.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.models import MODELS
from dlcore.nn import BatchNorm

_INIT = nn.initializers.normal(0.02)


@MODELS.register("dcgan_generator")
class DCGANGenerator(nn.Module):
  """z [B, latent_dim] -> images [B, 28, 28, num_outputs] in [-1, 1] (module docstring)."""
  num_outputs: int = 1
  latent_dim: int = 64
  features: int = 64

  @nn.compact
  def __call__(self, z: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    f = self.features
    x = nn.Dense(7 * 7 * 2 * f, kernel_init=_INIT, name="project")(z)
    x = nn.relu(BatchNorm(momentum=0.9, epsilon=1e-5, name="bn_0")(x, train))
    x = x.reshape(x.shape[0], 7, 7, 2 * f)
    x = nn.ConvTranspose(f, (4, 4), strides=(2, 2), padding="SAME", kernel_init=_INIT,
                         name="up_0")(x)
    x = nn.relu(BatchNorm(momentum=0.9, epsilon=1e-5, name="bn_1")(x, train))
    x = nn.ConvTranspose(self.num_outputs, (4, 4), strides=(2, 2), padding="SAME",
                         kernel_init=_INIT, name="up_1")(x)
    return jnp.tanh(x)


@MODELS.register("dcgan_discriminator")
class DCGANDiscriminator(nn.Module):
  """images [B, 28, 28, c] -> logits [B, num_outputs] (num_outputs=1: D(x) = sigmoid)."""
  num_outputs: int = 1
  features: int = 64

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    f = self.features
    for i, channels in enumerate((f, 2 * f)):
      x = nn.Conv(channels, (4, 4), strides=(2, 2), padding="SAME", kernel_init=_INIT,
                  name=f"conv_{i}")(x)
      x = nn.leaky_relu(x, 0.2)
    return nn.Dense(self.num_outputs, kernel_init=_INIT, name="logit")(x.reshape(x.shape[0], -1))
