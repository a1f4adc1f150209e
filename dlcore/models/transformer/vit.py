"""Vision Transformer (ARC-26, LAY-26): an image as a sequence of patches.

  image (B, H, W, C) -> P x P patches -> flatten -> Dense d_model (the patch embedding, one
  strided convolution) -> prepend a learned [CLS] vector -> + learned positions (LAY-25)
  -> dropout -> num_layers x encoder layer (pre-LN, GELU, as in ViT) -> LayerNorm
  -> the [CLS] output -> Dense logits (B, num_outputs)

H and W must be multiples of `patch_size`; the position table has one row per patch plus
[CLS], so an image of another size is a `ConfigError` naming both shapes.
`attention_maps(images)` returns the logits and every layer's weights (B, heads, 1 + N, 1 + N).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.models.checks import assert_image_batch
from dlcore.nn.transformer import EncoderLayer, layer_class


@MODELS.register("vit")
class ViT(nn.Module):
  num_outputs: int
  image_size: int = 28  # the square input size the position table is built for
  patch_size: int = 7
  num_layers: int = 4
  num_heads: int = 4
  d_model: int = 64
  d_ff: int = 0  # 0: 4 d_model
  dropout_rate: float = 0.0
  pre_ln: bool = True
  remat: bool = False  # recompute each block's activations in the backward pass (layer_class)

  @classmethod
  def check_fields(cls, fields: dict) -> None:
    size, patch = int(fields.get("image_size", 28)), int(fields.get("patch_size", 7))
    if patch < 1 or size % patch:
      raise ConfigError(f"vit needs model.image_size ({size}) to be a multiple of "
                        f"model.patch_size ({patch}).")

  @nn.compact
  def _run(self, x, train: bool, return_weights: bool):
    x = jnp.asarray(x, jnp.float32)
    assert_image_batch(x, "ViT")
    if x.ndim == 3:
      x = x[..., None]
    if x.shape[1:3] != (self.image_size, self.image_size):
      raise ConfigError(f"ViT was built for {self.image_size}x{self.image_size} images "
                        f"(model.image_size), got {x.shape[1]}x{x.shape[2]}.")
    p = self.patch_size
    x = nn.Conv(self.d_model, (p, p), strides=(p, p), padding="VALID", name="patch_embed")(x)
    x = x.reshape(x.shape[0], -1, self.d_model)  # (B, N, d): the patch sequence
    cls = self.param("cls", nn.initializers.zeros, (1, 1, self.d_model))
    x = jnp.concatenate([jnp.broadcast_to(cls, (x.shape[0], 1, self.d_model)), x], axis=1)
    x = x + self.param("position_table", nn.initializers.normal(0.02), x.shape[1:])[None]
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    weights = []
    block = layer_class(EncoderLayer, self.remat)
    for i in range(self.num_layers):
      x, (w, _) = block(self.num_heads, self.d_ff or 4 * self.d_model, self.dropout_rate,
                        self.pre_ln, "gelu", name=f"block_{i}")(x, None, train, None,
                                                                 return_weights)
      weights.append(w)
    if self.pre_ln:
      x = nn.LayerNorm(epsilon=1e-6, name="final_norm")(x)
    return nn.Dense(self.num_outputs, name="head")(x[:, 0]), weights

  def __call__(self, x, train: bool = False):
    return self._run(x, train, False)[0]

  def attention_maps(self, x):
    return self._run(x, False, True)
