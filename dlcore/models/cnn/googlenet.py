"""ARC-10 GoogLeNet / Inception v1 (Szegedy et al. 2014); LAY-19 Inception module, LAY-20
auxiliary classifiers, LAY-6 1x1 reductions, LAY-10 global average pooling.

The channel table, the auxiliary heads and the stem are canonical, not from seed (paper Table 1,
§5; structure as torchvision: every conv is conv (no bias) -> BN -> ReLU, "BasicConv"; the
paper predates BatchNorm).

  Inception(c1, r3, c3, r5, c5, pp)(x) = concat_-1[ conv1x1(c1)(x),
                                                  conv3x3(c3)(conv1x1(r3)(x)),
                                                  convKxK(c5)(conv1x1(r5)(x)),
                                                  conv1x1(pp)(maxpool 3x3/1 pad 1 (x)) ]
  K = `branch5_kernel`: 5 (paper, default) or 3 (torchvision's known deviation).

  stage  layer                        c1   r3   c3   r5  c5   pp   out   (224x224 input)
  stem   conv7x7/2 64, maxpool 3x3/2                                64    112 -> 56
         conv1x1 64, conv3x3 192, maxpool 3x3/2                     192   56 -> 28
  3      inception 3a                 64   96   128  16  32   32   256   28
         inception 3b                 128  128  192  32  96   64   480   28, maxpool 3x3/2 -> 14
  4      inception 4a  (-> aux1)      192  96   208  16  48   64   512   14
         inception 4b                 160  112  224  24  64   64   512
         inception 4c                 128  128  256  24  64   64   512
         inception 4d  (-> aux2)      112  144  288  32  64   64   528
         inception 4e                 256  160  320  32  128  128  832   14, maxpool 2x2/2 -> 7
  5      inception 5a                 256  160  320  32  128  128  832   7
         inception 5b                 384  192  384  48  128  128  1024  7
  head   global average pool, Dropout(0.4), Dense(num_outputs)

  Max-pools between stages use PyTorch's ceil_mode (the last partial window is kept).
  stem="cifar" (for 32x32, 28x28): conv3x3/1 64, conv1x1 64, conv3x3 192, without the two stem
  max-pools: stage 3 runs at 32x32, stage 4 at 16x16, stage 5 at 8x8.

  Auxiliary head (LAY-20, after 4a and 4d): average pool to 4x4, conv1x1 128 (+BN, ReLU),
  Dense 1024 + ReLU, Dropout(0.7), Dense(num_outputs). The paper's pool is 5x5/3 (14x14 -> 4x4);
  like torchvision we pool adaptively to 4x4 (PyTorch bins [floor(iH/4), ceil((i+1)H/4)); 4x4/4
  windows at 16x16), which gives the same shape at every input size, so small inputs work.
  Interface: `__call__` returns the main float32 logits; when `aux_heads and (train or
  initializing)` it also sows each head's float32 logits as ("aux_outputs", "aux1") and "aux2"
  (apply with mutable=["aux_outputs"] to read them; eval skips the heads).

Parameters at 224x224, 1000 classes (BN scale and bias included):
  branch5_kernel=3: 6,624,904 without aux heads (torchvision's published figure), 13,004,888 with
                    them (hand count: + sum over the heads of 128 c_in + 2*128 + 2048*1024 + 1024
                    + 1024*1000 + 1000, c_in = 512, 528; not the 13,004,648 sometimes quoted)
  branch5_kernel=5: 7,005,832 without, 13,385,816 with (= the above + 16 sum(r5 c5) = +380,928)
Kernel init: convs He/Kaiming normal, fan_in (untruncated); torchvision uses a truncated normal
with std 0.01 instead. Dense layers keep Flax's default (LeCun normal, zero bias). BN: dlcore's
(momentum 0.9, eps 1e-5; torchvision's GoogLeNet uses eps 1e-3).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_image_batch
from dlcore.nn import BatchNorm, Dropout, avg_pool, global_avg_pool, max_pool

# name: (c1, r3, c3, r5, c5, pool_proj), Szegedy et al. 2014 Table 1.
INCEPTION_TABLE = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}

conv_init = nn.initializers.variance_scaling(2.0, "fan_in", "normal")


class BasicConv(nn.Module):
  """relu(BN(conv kxk/s (no bias, padding k//2)(x))), torchvision's BasicConv2d."""
  features: int
  kernel: int = 1
  strides: int = 1
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    p = self.kernel // 2
    x = nn.Conv(self.features, (self.kernel, self.kernel), strides=(self.strides,) * 2,
                padding=((p, p), (p, p)), use_bias=False, dtype=dtype, kernel_init=conv_init,
                name="conv")(x)
    return nn.relu(BatchNorm(momentum=0.9, epsilon=1e-5, dtype=dtype, name="bn")(x, train))


def max_pool_ceil(x: jnp.ndarray, window: int, stride: int) -> jnp.ndarray:
  """LAY-8 max pool with PyTorch's ceil_mode=True and no padding: out = ceil((H - k) / s) + 1;
  the last window may hang over the bottom/right edge (padded with -inf)."""
  pads = []
  for size in x.shape[1:3]:
    out = max(math.ceil((size - window) / stride), 0) + 1
    pads.append((0, max((out - 1) * stride + window - size, 0)))
  if all(hi == 0 for _, hi in pads):
    return max_pool(x, window, strides=stride)
  return max_pool(x, window, strides=stride, padding=tuple(pads))


def adaptive_avg_pool(x: jnp.ndarray, size: int) -> jnp.ndarray:
  """PyTorch's adaptive_avg_pool2d to (size, size): output cell i averages rows
  [floor(i H / size), ceil((i + 1) H / size)) (same for columns); any H, W >= 1."""
  h, w = x.shape[1:3]
  if h % size == 0 and w % size == 0:
    return avg_pool(x, (h // size, w // size))

  def bins(n: int) -> list[tuple[int, int]]:
    return [(i * n // size, -(-(i + 1) * n // size)) for i in range(size)]

  rows = [x[:, a:b].mean(axis=1) for a, b in bins(h)]
  x = jnp.stack(rows, axis=1)
  cols = [x[:, :, a:b].mean(axis=2) for a, b in bins(w)]
  return jnp.stack(cols, axis=2)


class Inception(nn.Module):
  """LAY-19 Inception module: the four branches above, concatenated on the channel axis."""
  c1: int
  r3: int
  c3: int
  r5: int
  c5: int
  pool_proj: int
  branch5_kernel: int = 5
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    d = self.dtype
    b1 = BasicConv(self.c1, 1, dtype=d, name="branch1")(x, train)
    b2 = BasicConv(self.r3, 1, dtype=d, name="branch2_reduce")(x, train)
    b2 = BasicConv(self.c3, 3, dtype=d, name="branch2")(b2, train)
    b3 = BasicConv(self.r5, 1, dtype=d, name="branch3_reduce")(x, train)
    b3 = BasicConv(self.c5, self.branch5_kernel, dtype=d, name="branch3")(b3, train)
    b4 = max_pool(x, 3, strides=1, padding=((1, 1), (1, 1)))
    b4 = BasicConv(self.pool_proj, 1, dtype=d, name="branch4")(b4, train)
    return jnp.concatenate([b1, b2, b3, b4], axis=-1)


class AuxHead(nn.Module):
  """LAY-20 auxiliary classifier: adaptive avg-pool 4x4, BasicConv 1x1 128, Dense 1024 + ReLU,
  Dropout(0.7), Dense(num_outputs); float32 logits."""
  num_outputs: int
  dropout_rate: float = 0.7
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    x = BasicConv(128, 1, dtype=self.dtype, name="conv")(adaptive_avg_pool(x, 4), train)
    x = x.reshape(x.shape[0], -1)
    x = nn.relu(nn.Dense(1024, dtype=dtype, name="fc1")(x))
    x = Dropout(self.dropout_rate, name="dropout")(x, train)
    return nn.Dense(self.num_outputs, dtype=dtype, name="fc2")(x).astype(jnp.float32)


@MODELS.register("googlenet")
class GoogLeNet(nn.Module):
  """ARC-10 GoogLeNet (layer table, aux-head interface and counts in the module docstring).

  Fields: aux_heads (True), branch5_kernel (5 paper / 3 torchvision), dropout_rate (0.4),
  aux_dropout_rate (0.7), stem ("imagenet" or "cifar"), dtype.
  """
  num_outputs: int
  aux_heads: bool = True
  branch5_kernel: int = 5
  dropout_rate: float = 0.4
  aux_dropout_rate: float = 0.7
  stem: str = "imagenet"
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    if self.branch5_kernel not in (3, 5):
      raise ConfigError(f"model.branch5_kernel={self.branch5_kernel} must be 5 (the paper) or 3 "
                        f"(torchvision).")
    if self.stem not in ("imagenet", "cifar"):
      raise ConfigError(f"model.stem={self.stem!r} is unknown; use 'imagenet' (7x7/2 + max-pools, "
                        f"224x224) or 'cifar' (3x3/1 without them, 32x32 and 28x28).")
    dtype = jnp.dtype(self.dtype)
    d = self.dtype
    x = jnp.asarray(x).astype(dtype)
    assert_image_batch(x, "GoogLeNet")
    if x.ndim == 3:
      x = x[..., None]
    imagenet = self.stem == "imagenet"
    x = BasicConv(64, 7 if imagenet else 3, 2 if imagenet else 1, dtype=d, name="conv1")(x, train)
    if imagenet:
      x = max_pool_ceil(x, 3, 2)
    x = BasicConv(64, 1, dtype=d, name="conv2")(x, train)
    x = BasicConv(192, 3, dtype=d, name="conv3")(x, train)
    if imagenet:
      x = max_pool_ceil(x, 3, 2)
    run_aux = self.aux_heads and (train or self.is_initializing())
    for name in INCEPTION_TABLE:
      if name == "4a":
        x = max_pool_ceil(x, 3, 2)
      elif name == "5a":
        x = max_pool_ceil(x, 2, 2)
      x = Inception(*INCEPTION_TABLE[name], branch5_kernel=self.branch5_kernel, dtype=d,
                    name=f"inception{name}")(x, train)
      if run_aux and name in ("4a", "4d"):
        aux = "aux1" if name == "4a" else "aux2"
        logits = AuxHead(self.num_outputs, self.aux_dropout_rate, d, name=f"{aux}_head")(x, train)
        self.sow("aux_outputs", aux, logits)
    x = global_avg_pool(x)
    x = Dropout(self.dropout_rate, name="dropout")(x, train)
    return nn.Dense(self.num_outputs, dtype=dtype, name="fc")(x).astype(jnp.float32)
