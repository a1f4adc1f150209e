"""ARC-9 VGG-11/13/16/19 (Simonyan & Zisserman 2015, configurations A, B, D, E), channels-last.

Conv stack (every conv 3x3, stride 1, padding 1 -> [BatchNorm] -> ReLU; "M" = max pool 2x2 s2):

  depth  config  stage 1     stage 2      stage 3      stage 4      stage 5       convs
  11     A       64, M       128, M       256x2, M     512x2, M     512x2, M       8
  13     B       64x2, M     128x2, M     256x2, M     512x2, M     512x2, M      10
  16     D       64x2, M     128x2, M     256x3, M     512x3, M     512x3, M      13
  19     E       64x2, M     128x2, M     256x4, M     512x4, M     512x4, M      16

then flatten -> fc6 Dense hidden -> ReLU -> dropout -> fc7 Dense hidden -> ReLU -> dropout ->
output Dense num_outputs (logits); depth = convs + 3 Dense layers. Conv names: conv{stage}_{i}.

Spatial sizes: each stage halves H and W, so 224x224 -> 7x7x512 (25,088 features, the paper's
FC-4096 input) and 32x32 (CIFAR) -> 1x1x512 (set hidden=512 there); inputs need at least 32x32.
Padding 1 and the 2x2/s2 pools are the paper's (§2.1; canonical, not from seed, §0 item 8).

Parameters at 224x224x3 -> 1000 (`params` only):
  VGG-11 132,863,336   VGG-13 133,047,848   VGG-16 138,357,544   VGG-19 143,667,240
  batch_norm=True adds a BatchNorm (dlcore, momentum 0.9, eps 1e-5) after every conv, before the
  ReLU; the convs keep their bias (as torchvision's vgg*_bn), so each adds 2 C (scale + bias):
  VGG-16-BN 138,365,992; the running mean/var live in `batch_stats` and are not counted.

Kernel init: `kernel_init` (dlcore name, default 'he_normal', fan-in, truncated; biases 0) for
every layer. The paper trained A from N(0, 10^-2) and initialised deeper nets' first 4 convs and
3 FCs from A, noting later that Glorot init works without pre-training (canonical, not from seed).
`width` scales the conv channels (not `hidden`).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_image_batch
from dlcore.nn import BatchNorm, Dropout, get_activation, get_initializer, max_pool

STAGE_WIDTHS = (64, 128, 256, 512, 512)
# depth -> convs per stage (configurations A, B, D, E)
CONFIGS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
MIN_SIZE = 32  # five 2x2/s2 pools


@MODELS.register("vgg")
class VGG(nn.Module):
  """ARC-9 VGG-`depth`: five stages of 3x3 convs + 2x2 max pool, FC-hidden x 2 with dropout,
  Dense logits; VGG-16 at 224x224x3 -> 1000 has 138,357,544 parameters (module doc table)."""
  num_outputs: int
  depth: int = 16
  batch_norm: bool = False
  hidden: int = 4096
  dropout_rate: float = 0.5
  width: float = 1.0
  kernel_init: str = "he_normal"
  dtype: str = "float32"

  def __post_init__(self) -> None:
    if self.depth not in CONFIGS:
      raise ConfigError(f"VGG depth={self.depth} is not a VGG configuration; use one of "
                        f"{', '.join(map(str, CONFIGS))}.")
    if not self.width > 0 or self.hidden < 1:
      raise ConfigError(f"VGG width={self.width} and hidden={self.hidden} must be positive.")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    relu = get_activation("relu")
    init = get_initializer(self.kernel_init)
    x = jnp.asarray(x).astype(dtype)
    assert_image_batch(x, "VGG")
    if x.ndim == 3:
      x = x[..., None]
    if min(x.shape[1:3]) < MIN_SIZE:
      raise ConfigError(f"VGG needs inputs of at least {MIN_SIZE}x{MIN_SIZE} (five 2x2 "
                        f"poolings), got {x.shape[1]}x{x.shape[2]}; resize or pad the images.")
    for stage, (channels, n_convs) in enumerate(zip(STAGE_WIDTHS, CONFIGS[self.depth]), 1):
      features = max(1, int(round(channels * self.width)))
      for i in range(1, n_convs + 1):
        x = nn.Conv(features, (3, 3), padding=1, dtype=dtype, kernel_init=init,
                    name=f"conv{stage}_{i}")(x)
        if self.batch_norm:
          x = BatchNorm(momentum=0.9, epsilon=1e-5, dtype=dtype, name=f"bn{stage}_{i}")(x, train)
        x = relu(x)
      x = max_pool(x, 2, strides=2)
    x = x.reshape(x.shape[0], -1)
    for name in ("fc6", "fc7"):
      x = relu(nn.Dense(self.hidden, dtype=dtype, kernel_init=init, name=name)(x))
      x = Dropout(self.dropout_rate, name=f"dropout_{name}")(x, train)
    x = nn.Dense(self.num_outputs, dtype=dtype, kernel_init=init, name="output")(x)
    return x.astype(jnp.float32)
