"""ARC-6 SimpleCNN for MNIST (001 Ch2 code), channels-last (curriculum §0 item 13).

  for c in features (default 32, 64):
    x = MaxPool2x2/s2(act([BN](Conv(c, 3x3, stride 1, padding 'SAME' = 1)(x))))   LAY-5, LAY-8
  x = flatten(x)                        28x28 -> 7x7x64 = 3136 (LAY-3)
  [x = act(Dense(hidden)(x))]           only if hidden > 0 (the seed has none)
  [x = Dropout(dropout_rate)(x)]        only if dropout_rate > 0 (flax's inverted dropout)
Options: batch_norm (LAY-11, before the activation), lrn (LAY-13, after each pooling),
spatial_dropout_rate (LAY-15, after each pooling), kernel_sizes (one per conv; default 3),
downsample='stride' (each conv has stride 2 and no pooling follows: the all-convolutional
variant, 4x less conv work than a stride-1 conv before a pool; `configs/mnist_fast.py`).
  logits = Dense(num_outputs)(x)

With the defaults on 28x28x1 -> 10 there are 320 + 18496 + 31370 = 50186 parameters, as in the
seed's PyTorch model. Inputs (B, H, W) get a channel axis. Convs use cross-correlation
(`lax.conv`, curriculum §0 item 6). Pooling is `dlcore.nn.max_pool` (reshape fast path).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_image_batch
from dlcore.nn import (BatchNorm, LocalResponseNorm, SpatialDropout, get_activation,
                       get_initializer, max_pool)


@MODELS.register("simple_cnn")
class SimpleCNN(nn.Module):
  """ARC-6: [Conv3x3 -> act -> MaxPool2x2] per entry of `features`, flatten, Dense logits."""
  num_outputs: int
  features: Sequence[int] = (32, 64)
  activation: str = "relu"
  batch_norm: bool = False
  lrn: bool = False
  spatial_dropout_rate: float = 0.0
  dropout_rate: float = 0.0
  hidden: int = 0
  kernel_sizes: Sequence[int] = ()
  downsample: str = "maxpool"
  kernel_init: str = "he_normal"
  dtype: str = "float32"

  @classmethod
  def check_fields(cls, fields) -> None:
    """ConfigError for config values the module cannot use (called by `build_model`)."""
    if fields.get("downsample", "maxpool") not in ("maxpool", "stride"):
      raise ConfigError(f"model.downsample={fields['downsample']!r} is unknown; valid: "
                        f"maxpool, stride.")
    sizes, features = tuple(fields.get("kernel_sizes", ())), tuple(fields.get("features",
                                                                              (32, 64)))
    if sizes and len(sizes) != len(features):
      raise ConfigError(f"model.kernel_sizes={sizes} needs one size per conv of model.features="
                        f"{features}.")

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    act = get_activation(self.activation)
    init = get_initializer(self.kernel_init)
    x = jnp.asarray(x).astype(dtype)
    assert_image_batch(x, "SimpleCNN")
    if x.ndim == 3:
      x = x[..., None]
    sizes = tuple(self.kernel_sizes) or (3,) * len(self.features)
    stride = 2 if self.downsample == "stride" else 1
    for i, (channels, k) in enumerate(zip(self.features, sizes)):
      x = nn.Conv(channels, (k, k), strides=(stride, stride), padding="SAME", dtype=dtype,
                  kernel_init=init, name=f"conv_{i}")(x)
      if self.batch_norm:
        x = BatchNorm(momentum=0.99, epsilon=1e-5, dtype=dtype, name=f"bn_{i}")(x, train)
      x = act(x) if stride == 2 else max_pool(act(x), 2, strides=2)
      if self.lrn:  # LAY-13, AlexNet-style after the pooling (k=2, n=5, alpha=1e-4, beta=0.75)
        x = LocalResponseNorm(name=f"lrn_{i}")(x)
      if self.spatial_dropout_rate > 0:  # LAY-15: drops whole channels
        x = SpatialDropout(self.spatial_dropout_rate, name=f"spatial_dropout_{i}")(x, train)
    x = x.reshape(x.shape[0], -1)
    if self.hidden > 0:
      x = act(nn.Dense(self.hidden, dtype=dtype, kernel_init=init, name="hidden")(x))
    if self.dropout_rate > 0:
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_outputs, dtype=dtype, kernel_init=init, name="output")(x)
