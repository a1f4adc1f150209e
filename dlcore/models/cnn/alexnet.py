"""ARC-8 AlexNet (Krizhevsky, Sutskever & Hinton 2012), single tower, channels-last.

stem='imagenet' (224x224x3 input), the curriculum's layer list:

  layer   op                                               output      parameters (1000 classes)
  conv1   96@11x11, s4, pad (1, 2) -> ReLU                 55x55x96    34,944
          max pool 3x3 s2 -> LRN                           27x27x96
  conv2   256@5x5, p2 -> ReLU                              27x27x256   614,656
          max pool 3x3 s2 -> LRN                           13x13x256
  conv3   384@3x3, p1 -> ReLU                              13x13x384   885,120
  conv4   384@3x3, p1 -> ReLU                              13x13x384   1,327,488
  conv5   256@3x3, p1 -> ReLU -> max pool 3x3 s2           6x6x256     884,992
  fc6     Dense hidden (4096) -> ReLU -> dropout 0.5       4096        37,752,832
  fc7     Dense hidden (4096) -> ReLU -> dropout 0.5       4096        16,781,312
  output  Dense num_outputs (logits)                       1000        4,097,000
                                                                 total 62,378,344

Input size (canonical, not from seed; §0 item 8): the paper says 224x224, which gives 55x55
after an 11x11/s4 conv only with 3 pixels of padding; conv1 pads (1, 2) (top/left 1,
bottom/right 2), so 224 -> 55 exactly. A 227x227 input (the Caffe convention, no padding) also
gives 55x55 here (floor((227 + 3 - 11) / 4) + 1 = 55) and the same parameter count; any input of
at least 64x64 works (smaller inputs raise ConfigError). The pools after conv2 and conv5 are
3x3/s2 (overlapping pooling, paper §3.4; the seed does not give them).

LRN is dlcore's `LocalResponseNorm` with the paper's k = 2, n = 5, alpha = 1e-4, beta = 0.75
(§3.3, canonical, not from seed); `lrn=False` drops it. Order: the curriculum's conv -> ReLU ->
pool -> LRN (as CaffeNet); the paper normalises before pooling.

`groups=2` reproduces the paper's two-GPU connectivity: conv2, conv4 and conv5 see only their
own tower's half of the channels (feature_group_count = 2), 60,965,224 parameters (the figure
usually quoted, as in Caffe's bvlc_alexnet); groups=1 (default) is the one-tower network.

stem='cifar' (32x32 inputs, e.g. CIFAR-10; at least 8x8): conv1 is 3x3, s1, p1 and the three
max pools are 2x2/s2 (non-overlapping), so 32 -> 16 -> 8 -> 4 and the classifier sees 4x4x256
= 4096 features; everything else is unchanged. This follows the usual CIFAR adaptation of
ImageNet nets (small first kernel, no stride-4 stem). CIFAR configs usually also lower `hidden`.

Kernel init: `kernel_init` names a dlcore initializer ('he_normal', fan-in, default; biases 0).
`kernel_init='paper'` is the paper's §5: weights N(0, 0.01^2), biases 1 in conv2, conv4, conv5,
fc6 and fc7 and 0 elsewhere (canonical, not from seed). `width` scales every conv's channels.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_image_batch
from dlcore.nn import Dropout, LocalResponseNorm, get_activation, get_initializer, max_pool

# conv1..conv5: (channels, kernel, stride, padding, max pool after, LRN after, bias 1 under
# kernel_init='paper', grouped under groups=2); conv1's kernel/stride/padding come from the stem.
_CONVS = ((96, None, None, None, True, True, False, False),
          (256, 5, 1, 2, True, True, True, True),
          (384, 3, 1, 1, False, False, False, False),
          (384, 3, 1, 1, False, False, True, True),
          (256, 3, 1, 1, True, False, True, True))
# stem: (conv1 kernel, stride, padding), (pool window, pool stride), smallest input side
STEMS = {"imagenet": ((11, 4, ((1, 2), (1, 2))), (3, 2), 64), "cifar": ((3, 1, 1), (2, 2), 8)}


def scaled(channels: int, width: float) -> int:
  """Channels under a width multiplier: max(1, round(channels * width))."""
  return max(1, int(round(channels * width)))


@MODELS.register("alexnet")
class AlexNet(nn.Module):
  """ARC-8 AlexNet: 5 convs (96, 256, 384, 384, 256), 3 max pools, 2 LRNs, FC-hidden x 2 with
  dropout, Dense logits; 62,378,344 parameters at 224x224x3 -> 1000 (table in the module doc)."""
  num_outputs: int
  stem: str = "imagenet"
  hidden: int = 4096
  dropout_rate: float = 0.5
  lrn: bool = True
  width: float = 1.0
  groups: int = 1
  kernel_init: str = "he_normal"
  dtype: str = "float32"

  def __post_init__(self) -> None:
    if self.stem not in STEMS:
      raise ConfigError(f"AlexNet stem={self.stem!r} is unknown; use 'imagenet' (224x224) or "
                        f"'cifar' (32x32).")
    if not self.width > 0 or self.hidden < 1:
      raise ConfigError(f"AlexNet width={self.width} and hidden={self.hidden} must be positive.")
    for channels, *_ in _CONVS:
      if self.groups < 1 or scaled(channels, self.width) % self.groups:
        raise ConfigError(f"AlexNet groups={self.groups} must be a positive divisor of every "
                          f"conv width ({channels} x width {self.width}); use 1 or 2.")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    relu = get_activation("relu")
    conv1, (pool_window, pool_stride), min_size = STEMS[self.stem]
    x = jnp.asarray(x).astype(dtype)
    assert_image_batch(x, "AlexNet")
    if x.ndim == 3:
      x = x[..., None]
    if min(x.shape[1:3]) < min_size:
      raise ConfigError(f"AlexNet(stem={self.stem!r}) needs inputs of at least "
                        f"{min_size}x{min_size}, got {x.shape[1]}x{x.shape[2]}; use "
                        f"stem='cifar' for small images.")
    paper = self.kernel_init == "paper"
    init = nn.initializers.normal(0.01) if paper else get_initializer(self.kernel_init)

    def bias_init(one: bool):
      return nn.initializers.ones if paper and one else nn.initializers.zeros

    for i, (channels, kernel, stride, padding, pool, lrn, bias_one, grouped) in enumerate(_CONVS):
      if i == 0:
        kernel, stride, padding = conv1
      x = nn.Conv(scaled(channels, self.width), (kernel, kernel), strides=stride, padding=padding,
                  feature_group_count=self.groups if grouped else 1, dtype=dtype,
                  kernel_init=init, bias_init=bias_init(bias_one), name=f"conv{i + 1}")(x)
      x = relu(x)
      if pool:
        x = max_pool(x, pool_window, strides=pool_stride)
      if lrn and self.lrn:
        x = LocalResponseNorm(name=f"lrn{i + 1}")(x)
    x = x.reshape(x.shape[0], -1)
    for name in ("fc6", "fc7"):
      x = nn.Dense(self.hidden, dtype=dtype, kernel_init=init, bias_init=bias_init(True),
                   name=name)(x)
      x = Dropout(self.dropout_rate, name=f"dropout_{name}")(relu(x), train)
    x = nn.Dense(self.num_outputs, dtype=dtype, kernel_init=init, name="output")(x)
    return x.astype(jnp.float32)
