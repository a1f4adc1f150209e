"""ARC-11 ResNet (He et al. 2015) for ImageNet and CIFAR; LAY-16 residual blocks, LAY-6 1x1 convs.

Residual block (LAY-16): y = relu(F(x) + shortcut(x)), F = the block's conv-BN stack.

  BasicBlock (ResNet-18/34, CIFAR ResNets), expansion 1:
    F = BN(conv3x3(c, stride 1)(relu(BN(conv3x3(c, stride s)(x)))))
  Bottleneck (ResNet-50/101/152), expansion 4 (canonical, not from seed: the seeds give neither the
  x4 expansion nor the stride position):
    F = BN(conv1x1(4c)(relu(BN(conv3x3(c, stride s)(relu(BN(conv1x1(c)(x))))))))
    The stride sits on the 3x3 conv (torchvision's "ResNet v1.5"); the paper's v1 puts it on the
    first 1x1 conv. Parameter counts are the same.
  shortcut(x) = x when the shape is kept; otherwise a projection BN(conv1x1(c_out, stride s)(x))
    (LAY-6, the paper's option B), or, in `CifarResNet(shortcut="A")`, option A:
    x[:, ::s, ::s, :] zero-padded on the channel axis (no parameters).
  Every conv has no bias and is followed by a BN (dlcore BatchNorm, momentum 0.9, eps 1e-5).

ResNet (ImageNet layout, canonical, not from seed; torchvision's structure):
  stem="imagenet": conv7x7/2 (pad 3) 64 -> BN -> ReLU -> maxpool 3x3/2 (pad 1)   224 -> 56
  stem="cifar":    conv3x3/1 (pad 1) 64 -> BN -> ReLU (no max-pool)            for 32x32, 28x28
  layer1..layer4: widths w, 2w, 4w, 8w (w = `width` = 64), the first block of layers 2-4 has
  stride 2; blocks per layer by depth:
    depth   block       blocks          params (224x224, 1000 classes, published)
    18      basic       (2, 2, 2, 2)    11,689,512
    34      basic       (3, 4, 6, 3)    21,797,672
    50      bottleneck  (3, 4, 6, 3)    25,557,032
    101     bottleneck  (3, 4, 23, 3)   44,549,160
    152     bottleneck  (3, 8, 36, 3)   60,192,808
  -> global average pool (LAY-10) -> Dense(num_outputs).

CifarResNet (He et al. 2015 §4.2, canonical, not from seed): depth = 6n + 2; conv3x3/1 16 -> BN ->
ReLU, three stages of n basic blocks with 16/32/64 channels (w, 2w, 4w; w = `width` = 16), strides
1, 2, 2, GAP, Dense. Option A (default) has no shortcut parameters: ResNet-20 has 269,722 and
ResNet-56 853,018 parameters at 10 classes (hand count: stem 16*27 + 32, stage blocks
2 (9 c_in c + 2c), FC 64*10 + 10).

Kernel init: convs He/Kaiming normal with fan_out (untruncated, std sqrt(2 / (k*k*c_out))), as
torchvision's ResNet; BN scale 1 and bias 0, except the last BN of each block when
`zero_init_residual` (scale 0, so every block starts as relu(shortcut(x)); Goyal et al. 2017);
the Dense layer keeps Flax's default (LeCun normal, zero bias).
Inputs are NHWC, (B, H, W) gets a channel axis; compute in `dtype`, float32 logits.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_image_batch
from dlcore.nn import BatchNorm, global_avg_pool, max_pool

RESNET_LAYERS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
                 50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
                 152: ("bottleneck", (3, 8, 36, 3))}
STEMS = ("imagenet", "cifar")

# He/Kaiming normal, fan_out, untruncated (torchvision: kaiming_normal_(mode="fan_out")).
conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def _bn(dtype, name: str, zero: bool = False) -> BatchNorm:
  scale_init = nn.initializers.zeros if zero else nn.initializers.ones
  return BatchNorm(momentum=0.9, epsilon=1e-5, dtype=dtype, scale_init=scale_init, name=name)


def _conv(features: int, kernel: int, stride: int, dtype, name: str) -> nn.Conv:
  """A bias-free conv with PyTorch's symmetric padding k // 2 (same output size for any input)."""
  pad = kernel // 2
  return nn.Conv(features, (kernel, kernel), strides=(stride, stride),
                 padding=((pad, pad), (pad, pad)), use_bias=False, dtype=dtype,
                 kernel_init=conv_init, name=name)


def shortcut_a(x: jnp.ndarray, features: int, stride: int) -> jnp.ndarray:
  """Option A shortcut (He et al. 2015 §3.3, §4.2): x[:, ::s, ::s, :] zero-padded on the channel
  axis to `features` ((c_out - c_in) // 2 zero channels before, the rest after, as the common
  PyTorch CIFAR code). Parameter-free."""
  x = x[:, ::stride, ::stride, :]
  extra = features - x.shape[-1]
  if extra < 0:
    raise ValueError(f"option A cannot reduce channels ({x.shape[-1]} -> {features})")
  return jnp.pad(x, ((0, 0), (0, 0), (0, 0), (extra // 2, extra - extra // 2)))


class _Shortcut(nn.Module):
  """Identity if the shape is kept, else option "A" (pad) or "B" (BN(conv1x1/s)), LAY-6."""
  features: int
  strides: int = 1
  shortcut: str = "B"
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    if self.strides == 1 and x.shape[-1] == self.features:
      return x
    if self.shortcut == "A":
      return shortcut_a(x, self.features, self.strides)
    dtype = jnp.dtype(self.dtype)
    y = _conv(self.features, 1, self.strides, dtype, "downsample_conv")(x)
    return _bn(dtype, "downsample_bn")(y, train)


class BasicBlock(nn.Module):
  """LAY-16 basic block: relu(BN(conv3x3(relu(BN(conv3x3/s(x))))) + shortcut(x)); output
  `features` channels (expansion 1). `shortcut` "B" projects, "A" pads (CIFAR)."""
  features: int
  strides: int = 1
  shortcut: str = "B"
  zero_init_residual: bool = False
  dtype: str = "float32"
  expansion = 1

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    y = _conv(self.features, 3, self.strides, dtype, "conv1")(x)
    y = nn.relu(_bn(dtype, "bn1")(y, train))
    y = _conv(self.features, 3, 1, dtype, "conv2")(y)
    y = _bn(dtype, "bn2", self.zero_init_residual)(y, train)
    s = _Shortcut(self.features, self.strides, self.shortcut, self.dtype, name="shortcut")(x, train)
    return nn.relu(y + s)


class Bottleneck(nn.Module):
  """LAY-16 bottleneck (v1.5): relu(BN(conv1x1(4c)(relu(BN(conv3x3/s(c)(relu(BN(conv1x1(c)(x)))))))
  + shortcut(x)); c = `features`, output 4c channels; projection shortcut when the shape changes."""
  features: int
  strides: int = 1
  shortcut: str = "B"
  zero_init_residual: bool = False
  dtype: str = "float32"
  expansion = 4

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    out = self.features * self.expansion
    y = nn.relu(_bn(dtype, "bn1")(_conv(self.features, 1, 1, dtype, "conv1")(x), train))
    y = nn.relu(_bn(dtype, "bn2")(_conv(self.features, 3, self.strides, dtype, "conv2")(y), train))
    y = _bn(dtype, "bn3", self.zero_init_residual)(_conv(out, 1, 1, dtype, "conv3")(y), train)
    s = _Shortcut(out, self.strides, self.shortcut, self.dtype, name="shortcut")(x, train)
    return nn.relu(y + s)


def _prepare(x: jnp.ndarray, dtype) -> jnp.ndarray:
  x = jnp.asarray(x).astype(dtype)
  assert_image_batch(x, "ResNet")
  return x[..., None] if x.ndim == 3 else x


@MODELS.register("resnet")
class ResNet(nn.Module):
  """ARC-11 ResNet-18/34/50/101/152 (see the module docstring for the layer table and counts).

  Fields: depth (18, 34, 50, 101, 152), width (base channels, 64), stem ("imagenet" 7x7/2 +
  max-pool, or "cifar" 3x3/1 without max-pool for 32x32 / 28x28 inputs), zero_init_residual,
  dtype (compute dtype; params, BN statistics and logits float32).
  """
  num_outputs: int
  depth: int = 50
  width: int = 64
  stem: str = "imagenet"
  zero_init_residual: bool = False
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    if self.depth not in RESNET_LAYERS:
      raise ConfigError(f"model.depth={self.depth} is not a ResNet depth; use one of "
                        f"{', '.join(map(str, RESNET_LAYERS))} (or cifar_resnet for 6n+2).")
    if self.stem not in STEMS:
      raise ConfigError(f"model.stem={self.stem!r} is unknown; use 'imagenet' (7x7/2 + max-pool, "
                        f"224x224) or 'cifar' (3x3/1, 32x32 and 28x28).")
    dtype = jnp.dtype(self.dtype)
    x = _prepare(x, dtype)
    kind, layers = RESNET_LAYERS[self.depth]
    block = BasicBlock if kind == "basic" else Bottleneck
    if self.stem == "imagenet":
      x = nn.relu(_bn(dtype, "bn1")(_conv(self.width, 7, 2, dtype, "conv1")(x), train))
      x = max_pool(x, 3, strides=2, padding=((1, 1), (1, 1)))
    else:
      x = nn.relu(_bn(dtype, "bn1")(_conv(self.width, 3, 1, dtype, "conv1")(x), train))
    for i, n in enumerate(layers):
      for j in range(n):
        x = block(self.width * 2**i, strides=2 if (i > 0 and j == 0) else 1, shortcut="B",
                  zero_init_residual=self.zero_init_residual, dtype=self.dtype,
                  name=f"layer{i + 1}_block{j}")(x, train)
    x = global_avg_pool(x)
    return nn.Dense(self.num_outputs, dtype=dtype, name="fc")(x).astype(jnp.float32)


@MODELS.register("cifar_resnet")
class CifarResNet(nn.Module):
  """ARC-11 CIFAR ResNet-(6n+2) of He et al. 2015 §4.2 (20, 32, 44, 56, 110, ...).

  Fields: depth (6n + 2), width (16: stages 16/32/64), shortcut ("A" zero-padding identity, the
  paper's CIFAR choice, or "B" projection), zero_init_residual, dtype.
  """
  num_outputs: int
  depth: int = 20
  width: int = 16
  shortcut: str = "A"
  zero_init_residual: bool = False
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    if self.depth < 8 or (self.depth - 2) % 6:
      raise ConfigError(f"model.depth={self.depth} is not 6n+2 for a CIFAR ResNet; use e.g. 20, "
                        f"32, 44, 56 or 110.")
    if self.shortcut not in ("A", "B"):
      raise ConfigError(f"model.shortcut={self.shortcut!r} is unknown; use 'A' (zero-padding "
                        f"identity) or 'B' (1x1 projection).")
    dtype = jnp.dtype(self.dtype)
    x = _prepare(x, dtype)
    x = nn.relu(_bn(dtype, "bn1")(_conv(self.width, 3, 1, dtype, "conv1")(x), train))
    n = (self.depth - 2) // 6
    for i in range(3):
      for j in range(n):
        x = BasicBlock(self.width * 2**i, strides=2 if (i > 0 and j == 0) else 1,
                       shortcut=self.shortcut, zero_init_residual=self.zero_init_residual,
                       dtype=self.dtype, name=f"layer{i + 1}_block{j}")(x, train)
    x = global_avg_pool(x)
    return nn.Dense(self.num_outputs, dtype=dtype, name="fc")(x).astype(jnp.float32)
