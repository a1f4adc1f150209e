"""A small U-Net (LAY-22, ARC-16; Ronneberger et al. 2015) with a timestep embedding, the
ε-prediction network of a DDPM (ARC-34, `dlcore.diffusion`), NHWC.

  e      = MLP(sinusoid(t))                       t [B] -> [B, 4c₀] (Transformer sinusoids)
  x      = space_to_depth(x, patch)               [B, H/p, W/p, p²C] (patch = p; 1: none)
  h      = Conv3x3(c₀)(x)
  down   for level l (channels c_l):  h = ResBlock(h, e); skip_l = h; h = Conv3x3/s2(h)
                                      (no downsampling after the last level)
  middle h = ResBlock(h, e)
  up     for level l reversed:        h = ResBlock(concat(h, skip_l), e)    the skip connection
                                      h = Conv3x3(nearest-upsample x2 (h))  (except at level 0)
  out    = depth_to_space(Conv3x3(p² num_outputs)(SiLU(GroupNorm(h))), patch)   ε̂ [B, H, W, C]

  ResBlock(x, e) = W_skip x + Conv3x3(SiLU(GN(Conv3x3(SiLU(GN(x))) + Dense(e))))

Spatial sizes must divide by p·2^(levels - 1) (28 = 7·2² for 3 levels, or patch 2 and 2
levels). The output layer starts at zero, so the untrained network predicts ε̂ = 0. A patch of
2 (the 2x2 pixel blocks as channels, as in patch-based diffusion models) runs the network at
half the resolution: about 4x fewer FLOPs for the same channels, what a CPU can train.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS


def timestep_embedding(t: jnp.ndarray, dim: int, max_period: float = 10000.0) -> jnp.ndarray:
  """[B] (integer or real) timesteps -> [B, dim]: sin(t ω_k) ‖ cos(t ω_k), ω_k =
  max_period^(-k / (dim/2)), k = 0 .. dim/2 - 1 (the Transformer's sinusoids at real t)."""
  half = dim // 2
  freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
  angles = jnp.asarray(t, jnp.float32)[:, None] * freqs[None]
  return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)


def space_to_depth(x: jnp.ndarray, p: int) -> jnp.ndarray:
  """[B, H, W, C] -> [B, H/p, W/p, p·p·C]: each p x p block of pixels becomes channels."""
  b, h, w, c = x.shape
  x = x.reshape(b, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h // p, w // p, p * p * c)


def depth_to_space(x: jnp.ndarray, p: int) -> jnp.ndarray:
  """The inverse of `space_to_depth`."""
  b, h, w, c = x.shape
  x = x.reshape(b, h, w, p, p, c // (p * p)).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h * p, w * p, c // (p * p))


def _groups(channels: int, groups: int) -> int:
  return math.gcd(channels, groups)


class ResBlock(nn.Module):
  """The residual block with the timestep embedding added between its two convolutions."""
  channels: int
  groups: int = 8

  @nn.compact
  def __call__(self, x: jnp.ndarray, emb: jnp.ndarray) -> jnp.ndarray:
    g = _groups
    h = nn.Conv(self.channels, (3, 3), name="conv_0")(
        nn.silu(nn.GroupNorm(g(x.shape[-1], self.groups), name="norm_0")(x)))
    h = h + nn.Dense(self.channels, name="time")(emb)[:, None, None, :]
    h = nn.Conv(self.channels, (3, 3), name="conv_1")(
        nn.silu(nn.GroupNorm(g(self.channels, self.groups), name="norm_1")(h)))
    if x.shape[-1] != self.channels:
      x = nn.Conv(self.channels, (1, 1), name="skip")(x)
    return x + h


@MODELS.register("unet")
class UNet(nn.Module):
  """ε̂(x_t, t): images [B, H, W, C] and timesteps [B] -> [B, H, W, num_outputs]."""
  num_outputs: int = 1
  channels: Sequence[int] = (16, 32, 64)
  groups: int = 8
  patch: int = 1

  @classmethod
  def check_fields(cls, fields: dict) -> None:
    channels = tuple(fields.get("channels", cls.channels))
    if not channels or any(int(c) < 1 for c in channels):
      raise ConfigError(f"model.channels must be positive ints (one per level), got {channels}.")
    if int(fields.get("patch", 1)) < 1:
      raise ConfigError(f"model.patch must be an int >= 1, got {fields.get('patch')}.")

  @nn.compact
  def __call__(self, x: jnp.ndarray, t: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    levels, p = len(self.channels), self.patch
    factor = p * 2**(levels - 1)
    if x.ndim != 4 or x.shape[1] % factor or x.shape[2] % factor:
      raise ConfigError(f"UNet with {levels} levels needs images [B, H, W, C] with H and W "
                        f"divisible by {factor}, got shape {x.shape}.")
    c0 = self.channels[0]
    emb = timestep_embedding(t, c0)
    emb = nn.Dense(4 * c0, name="time_1")(nn.silu(nn.Dense(4 * c0, name="time_0")(emb)))
    h = nn.Conv(c0, (3, 3), name="conv_in")(space_to_depth(x, p))
    skips = []
    for i, c in enumerate(self.channels):
      h = ResBlock(c, self.groups, name=f"down_{i}")(h, emb)
      skips.append(h)
      if i < levels - 1:
        h = nn.Conv(c, (3, 3), strides=(2, 2), name=f"downsample_{i}")(h)
    h = ResBlock(self.channels[-1], self.groups, name="middle")(h, emb)
    for i in reversed(range(levels)):
      h = ResBlock(self.channels[i], self.groups, name=f"up_{i}")(
          jnp.concatenate([h, skips[i]], axis=-1), emb)
      if i > 0:
        h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)
        h = nn.Conv(self.channels[i - 1], (3, 3), name=f"upsample_{i}")(h)
    h = nn.silu(nn.GroupNorm(_groups(h.shape[-1], self.groups), name="norm_out")(h))
    out = nn.Conv(p * p * self.num_outputs, (3, 3), kernel_init=nn.initializers.zeros,
                  name="conv_out")(h)
    return depth_to_space(out, p)
