"""ARC-12 DenseNet-BC (Huang et al. 2017); LAY-17 dense blocks, LAY-18 transition layers.

The seeds give the dense connectivity and k = 32 with blocks 6/12/24/16; the composite function
H_l, the bottleneck width, the compression and the stem are canonical, not from seed (paper
§3, Table 1; torchvision's layout):

  dense layer (LAY-17)  H_l(x) = conv3x3(k)(relu(BN(conv1x1(bn_size k)(relu(BN(x))))))
                        [-> Dropout(dropout_rate) if > 0, as torchvision]
  dense block (LAY-17)  x_l = H_l(concat[x_0, x_1, ..., x_{l-1}]) on the channel axis (NHWC -1);
                        output concat[x_0, ..., x_L]: c_0 + L k channels, the first c_0 = x_0.
  transition (LAY-18)   avg_pool 2x2/2(conv1x1(floor(compression c))(relu(BN(x))))
  stem="imagenet"       conv7x7/2 (pad 3) 2k -> BN -> ReLU -> maxpool 3x3/2 (pad 1)    224 -> 56
  stem="cifar"          conv3x3/1 (pad 1) 2k, no BN/pooling (paper §3 CIFAR stem; 32x32, 28x28)
  head                  BN -> ReLU -> global average pool (LAY-10) -> Dense(num_outputs)

  depth  blocks           k    params (224x224, 1000 classes; torchvision's published counts)
  121    (6, 12, 24, 16)  32   7,978,856
  169    (6, 12, 32, 32)  32   14,149,480
  201    (6, 12, 48, 32)  32   20,013,928
  161    (6, 12, 36, 24)  48   28,681,000   (DenseNet-161 is depth=161 with growth_rate=48)

`blocks` (a tuple of layer counts) overrides the table for custom or small variants, e.g. the
paper's CIFAR DenseNet-BC (L=100, k=12) is blocks=(16, 16, 16), growth_rate=12, stem="cifar"
(769,162 parameters at 10 classes; the paper's Table 2 says 0.8M).
Convs have no bias; kernel init He/Kaiming normal with fan_in (untruncated, torchvision's
kaiming_normal_), BN scale 1 / bias 0 (momentum 0.9, eps 1e-5), Dense bias 0 (LeCun normal kernel).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_image_batch
from dlcore.nn import BatchNorm, Dropout, avg_pool, global_avg_pool, max_pool

DENSENET_BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32),
                   161: (6, 12, 36, 24)}

conv_init = nn.initializers.variance_scaling(2.0, "fan_in", "normal")


def _bn(dtype, name: str) -> BatchNorm:
  return BatchNorm(momentum=0.9, epsilon=1e-5, dtype=dtype, name=name)


def _conv(features: int, kernel: int, stride: int, dtype, name: str) -> nn.Conv:
  pad = kernel // 2
  return nn.Conv(features, (kernel, kernel), strides=(stride, stride),
                 padding=((pad, pad), (pad, pad)), use_bias=False, dtype=dtype,
                 kernel_init=conv_init, name=name)


class DenseLayer(nn.Module):
  """LAY-17 H_l = conv3x3(k)(relu(BN(conv1x1(bn_size k)(relu(BN(x)))))) [-> dropout]; returns
  only the k new channels."""
  growth_rate: int = 32
  bn_size: int = 4
  dropout_rate: float = 0.0
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    y = nn.relu(_bn(dtype, "norm1")(x, train))
    y = _conv(self.bn_size * self.growth_rate, 1, 1, dtype, "conv1")(y)
    y = nn.relu(_bn(dtype, "norm2")(y, train))
    y = _conv(self.growth_rate, 3, 1, dtype, "conv2")(y)
    if self.dropout_rate > 0:
      y = Dropout(self.dropout_rate, name="dropout")(y, train)
    return y


class DenseBlock(nn.Module):
  """LAY-17 x_l = H_l(concat[x_0..x_{l-1}]); returns concat[x_0..x_L] (c_0 + L k channels)."""
  num_layers: int
  growth_rate: int = 32
  bn_size: int = 4
  dropout_rate: float = 0.0
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    for i in range(self.num_layers):
      new = DenseLayer(self.growth_rate, self.bn_size, self.dropout_rate, self.dtype,
                       name=f"denselayer{i + 1}")(x, train)
      x = jnp.concatenate([x, new], axis=-1)
    return x


class Transition(nn.Module):
  """LAY-18 avg_pool 2x2/2(conv1x1(`features`)(relu(BN(x))))."""
  features: int
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    y = nn.relu(_bn(dtype, "norm")(x, train))
    y = _conv(self.features, 1, 1, dtype, "conv")(y)
    return avg_pool(y, 2, strides=2)


@MODELS.register("densenet")
class DenseNet(nn.Module):
  """ARC-12 DenseNet-BC 121/169/201/161 (layer table and counts in the module docstring).

  Fields: depth, growth_rate k (32), compression theta (0.5), bn_size (4), dropout_rate (0),
  stem ("imagenet" or "cifar"), blocks (overrides the depth table when non-empty), dtype.
  """
  num_outputs: int
  depth: int = 121
  growth_rate: int = 32
  compression: float = 0.5
  bn_size: int = 4
  dropout_rate: float = 0.0
  stem: str = "imagenet"
  blocks: Sequence[int] = ()
  dtype: str = "float32"

  def _check(self) -> tuple[int, ...]:
    if not self.blocks and self.depth not in DENSENET_BLOCKS:
      raise ConfigError(f"model.depth={self.depth} is not a DenseNet depth; use one of "
                        f"{', '.join(map(str, DENSENET_BLOCKS))} or set model.blocks.")
    if not 0.0 < self.compression <= 1.0:
      raise ConfigError(f"model.compression={self.compression} must be in (0, 1] (0.5 for "
                        f"DenseNet-BC).")
    if self.stem not in ("imagenet", "cifar"):
      raise ConfigError(f"model.stem={self.stem!r} is unknown; use 'imagenet' (7x7/2 + max-pool, "
                        f"224x224) or 'cifar' (3x3/1, 32x32 and 28x28).")
    return tuple(self.blocks) if self.blocks else DENSENET_BLOCKS[self.depth]

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    blocks = self._check()
    dtype = jnp.dtype(self.dtype)
    x = jnp.asarray(x).astype(dtype)
    assert_image_batch(x, "DenseNet")
    if x.ndim == 3:
      x = x[..., None]
    channels = 2 * self.growth_rate
    if self.stem == "imagenet":
      x = _conv(channels, 7, 2, dtype, "conv0")(x)
      x = nn.relu(_bn(dtype, "norm0")(x, train))
      x = max_pool(x, 3, strides=2, padding=((1, 1), (1, 1)))
    else:
      x = _conv(channels, 3, 1, dtype, "conv0")(x)
    for i, n in enumerate(blocks):
      x = DenseBlock(n, self.growth_rate, self.bn_size, self.dropout_rate, self.dtype,
                     name=f"denseblock{i + 1}")(x, train)
      channels += n * self.growth_rate
      if i < len(blocks) - 1:
        channels = int(channels * self.compression)
        x = Transition(channels, self.dtype, name=f"transition{i + 1}")(x, train)
    x = nn.relu(_bn(dtype, "norm5")(x, train))
    x = global_avg_pool(x)
    return nn.Dense(self.num_outputs, dtype=dtype, name="classifier")(x).astype(jnp.float32)
