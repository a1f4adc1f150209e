"""ARC-7 LeNet-5 (LeCun et al. 1998), channels-last, for 32x32 inputs (28x28 MNIST zero-padded).

  layer   op                                   output (32x32x1 input)   parameters
  pad     zero-pad H, W up to `pad_to` (32)    32x32x1                  0       (§0 item 7)
  C1      conv1  6@5x5, s1, p0 -> tanh         28x28x6                  156     (5*5*1*6 + 6)
  S2      avg pool 2x2, s2                     14x14x6                  0
  C3      conv2 16@5x5 -> tanh                 10x10x16                 2,416   (5*5*6*16 + 16)
  S4      avg pool 2x2, s2                     5x5x16                   0
  C5      conv3 120@5x5 -> tanh                1x1x120                  48,120  (5*5*16*120 + 120)
  F6      fc1 Dense 84 -> tanh                 84                       10,164  (120*84 + 84)
  out     output Dense num_outputs             10                       850     (84*10 + 10)
                                                                total   61,706

Curriculum §0 item 7: the seed's spec (conv 5x5 p0 -> pool -> conv 5x5 -> pool -> conv 120@5x5)
needs 32x32 inputs, so smaller images are zero-padded symmetrically to `pad_to` x `pad_to`
(28 -> 2 pixels each side; `pad_to=0` disables it; larger inputs are never cropped, and C5's
output is flattened whatever its size). The F6 activation is not stated; tanh by analogy.

Simplifications of the 1998 network (the modern "LeNet-5", canonical, not from seed): C3 connects
to all 6 S2 maps (the paper's sparse connection table gives 1,516 parameters), S2/S4 are plain
average pools (the paper's subsampling has a trainable coefficient and bias per map and a
sigmoid), the activation is tanh (the paper uses 1.7159 tanh(2a/3)) and the output layer is a
Dense layer giving logits (the paper uses Euclidean RBF units). Kernel init: `lecun_normal`
(variance 1 / fan_in, the usual choice for tanh) by default; the paper draws U(-2.4/F_i, 2.4/F_i),
F_i the fan-in (canonical, not from seed). Biases 0. `kernel_init` takes any dlcore initializer.

Options: `activation` (every hidden layer), `pooling` 'avg' (paper) or 'max', `batch_norm`
(dlcore BatchNorm after each conv, before the activation), `dropout_rate` (after F6).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_image_batch
from dlcore.nn import BatchNorm, Dropout, avg_pool, get_activation, get_initializer, max_pool

POOLINGS = {"avg": avg_pool, "max": max_pool}
MIN_SIZE = 32  # 5x5 conv, 2x2 pool, 5x5 conv, 2x2 pool, 5x5 conv: 32 -> 28 -> 14 -> 10 -> 5 -> 1


def pad_to_size(x: jnp.ndarray, size: int) -> jnp.ndarray:
  """Zero-pad the H and W axes of NHWC `x` symmetrically up to `size` (the extra pixel of an odd
  difference goes at the end); axes already >= `size` are left alone (§0 item 7)."""
  pads = [(0, 0)] * x.ndim
  for axis in (1, 2):
    extra = max(size - x.shape[axis], 0)
    pads[axis] = (extra // 2, extra - extra // 2)
  return jnp.pad(x, pads) if any(p != (0, 0) for p in pads) else x


@MODELS.register("lenet5")
class LeNet5(nn.Module):
  """ARC-7 LeNet-5: C1 conv 6@5x5 -> S2 pool -> C3 conv 16@5x5 -> S4 pool -> C5 conv 120@5x5 ->
  F6 Dense 84 -> Dense logits; 61,706 parameters for 32x32x1 -> 10 (table in the module doc)."""
  num_outputs: int
  pad_to: int = 32
  activation: str = "tanh"
  pooling: str = "avg"
  batch_norm: bool = False
  dropout_rate: float = 0.0
  kernel_init: str = "lecun_normal"
  dtype: str = "float32"

  def __post_init__(self) -> None:
    if self.pooling not in POOLINGS:
      raise ConfigError(f"LeNet5 pooling={self.pooling!r} is unknown; use 'avg' (the paper's) "
                        f"or 'max'.")
    if self.pad_to < 0:
      raise ConfigError(f"LeNet5 pad_to={self.pad_to} must be >= 0 (32 pads MNIST's 28x28; 0 "
                        f"disables padding).")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    act = get_activation(self.activation)
    init = get_initializer(self.kernel_init)
    pool = POOLINGS[self.pooling]
    x = jnp.asarray(x).astype(dtype)
    assert_image_batch(x, "LeNet5")
    if x.ndim == 3:
      x = x[..., None]
    x = pad_to_size(x, self.pad_to)
    if min(x.shape[1:3]) < MIN_SIZE:
      raise ConfigError(f"LeNet5 needs inputs of at least {MIN_SIZE}x{MIN_SIZE} after padding, "
                        f"got {x.shape[1]}x{x.shape[2]}; set model.pad_to={MIN_SIZE}.")
    for i, channels in enumerate((6, 16, 120)):
      x = nn.Conv(channels, (5, 5), padding="VALID", dtype=dtype, kernel_init=init,
                  name=f"conv{i + 1}")(x)
      if self.batch_norm:
        x = BatchNorm(momentum=0.9, epsilon=1e-5, dtype=dtype, name=f"bn{i + 1}")(x, train)
      x = act(x)
      if i < 2:
        x = pool(x, 2, strides=2)
    x = x.reshape(x.shape[0], -1)
    x = act(nn.Dense(84, dtype=dtype, kernel_init=init, name="fc1")(x))
    x = Dropout(self.dropout_rate, name="dropout")(x, train)
    x = nn.Dense(self.num_outputs, dtype=dtype, kernel_init=init, name="output")(x)
    return x.astype(jnp.float32)
