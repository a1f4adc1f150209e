"""ARC-2 multilayer perceptron (curriculum §3a; LAY-2 Dense, LAY-3 Flatten, LAY-11, LAY-14).

  h^(0) = flatten(x)                                  (B, ...) -> (B, d)
  h^(l) = dropout(act(BN(W^(l) h^(l-1) + b^(l))))     l = 1..L-1, one per entry of `features`
  y     = W^(L) h^(L-1) + b^(L)                       logits (ACT-11); no softmax/sigmoid here

BatchNorm (optional, before the activation; or `layer_norm=True` for LayerNorm, LAY-12) uses batch
statistics when `train=True` and the running averages in the `batch_stats` collection otherwise
(ε = 1e-5, momentum 0.99, curriculum §0 item 15).
Dropout (`dlcore.nn.Dropout`) is inverted by default (identity at eval, §0 item 2);
`dropout_mode='vanilla'` scales by (1-p) at test time instead. It needs a 'dropout' rng.
`features=()` gives a linear (logistic/softmax-regression) model. The seed's 4-8-4-1 network
(ARC-3, 81 parameters) is `MLP(num_outputs=1, features=(8, 4), kernel_init='he_normal_seed')`.
Layers are named hidden_0, ..., bn_0, ..., output.
"""

from __future__ import annotations

import numbers
from typing import Any, Mapping, Sequence

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_batched
from dlcore.nn import BatchNorm, Dropout, LayerNorm, get_activation, get_initializer


def check_features(value: Any, key: str = "model.features") -> tuple[int, ...]:
  """`value` as a tuple of positive ints; ConfigError naming `key` otherwise (config_flags turns
  `--config.model.features=abc` into the string 'abc')."""
  ok = isinstance(value, (tuple, list)) and all(
      isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) > 0 for v in value)
  if not ok:
    raise ConfigError(f"{key} must be a tuple of positive ints, e.g. "
                      f"--config.{key}='(256,128)', got {value!r}.")
  return tuple(int(v) for v in value)


@MODELS.register("mlp")
class MLP(nn.Module):
  """ARC-2 MLP: `features` hidden Dense layers, then Dense(num_outputs) logits."""
  num_outputs: int
  features: Sequence[int] = (128,)
  activation: str = "relu"
  dropout_rate: float = 0.0
  dropout_mode: str = "inverted"
  batch_norm: bool = False
  layer_norm: bool = False
  kernel_init: str = "he_normal"
  bias_init: str = "zeros"
  dtype: str = "float32"

  @classmethod
  def check_fields(cls, fields: Mapping[str, Any]) -> None:
    """ConfigError for config values the module cannot use (called by `build_model`)."""
    if "features" in fields:
      check_features(fields["features"])

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    dtype = jnp.dtype(self.dtype)
    act = get_activation(self.activation)
    dense = lambda n, name: nn.Dense(n, dtype=dtype, kernel_init=get_initializer(self.kernel_init),
                                     bias_init=get_initializer(self.bias_init), name=name)
    assert_batched(x, "MLP")
    x = jnp.asarray(x).reshape(x.shape[0], -1).astype(dtype)
    for i, width in enumerate(self.features):
      x = dense(width, f"hidden_{i}")(x)
      if self.batch_norm:
        x = BatchNorm(momentum=0.99, epsilon=1e-5, dtype=dtype, name=f"bn_{i}")(x, train)
      elif self.layer_norm:  # LAY-12
        x = LayerNorm(name=f"ln_{i}")(x)
      x = act(x)
      if self.dropout_rate > 0:
        x = Dropout(self.dropout_rate, mode=self.dropout_mode, name=f"dropout_{i}")(x, train)
    return dense(self.num_outputs, "output")(x)
