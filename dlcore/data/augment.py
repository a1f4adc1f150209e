"""On-device image augmentation (curriculum REG-6: translation and horizontal flip, AlexNet 000
§2.3.2; crop, 001 Ch6), pure jnp, traced inside the jitted train step.

Every function takes a PRNG key first and an image batch `images` of shape (B, H, W) or
(B, H, W, C); randomness is per example, the dtype is kept (uint8 stays uint8), and the same key
gives the same output. They are jit- and vmap-compatible and, with the (default) partitionable
threefry PRNG, give the same result when the batch is sharded over a mesh as when it is not.

| function           | per-example operation                                                      |
|--------------------|----------------------------------------------------------------------------|
| random_crop        | pad p on each side of H and W, crop (H, W) at (oy, ox) ~ U{0..2p}^2        |
| random_flip        | with probability `prob`, x[:, ::-1] (the width axis)                       |
| random_shift       | y[i, j] = x[i - dy, j - dx], (dy, dx) ~ U{-m..m}^2, zero fill              |
| random_window_crop | x[oy:oy + s, ox:ox + s], (oy, ox) ~ U{0..H-s} x U{0..W-s}                  |
| center_crop        | x[t:t + s, l:l + s], t = (H - s) // 2, l = (W - s) // 2 (not random)       |

`random_crop` with padding 4 on 32x32 images is the CIFAR "pad 4 + random crop 32" recipe
(canonical, not from seed: He et al. 2016, §4.2, pad 4 with zeros). `random_window_crop` with
s = 224 on 256x256 images is the AlexNet/VGG "random 224 crop of 256" recipe (canonical, not from
seed: Krizhevsky et al. 2012, §4.1; Simonyan & Zisserman 2015, §3.1); `center_crop` is its
evaluation counterpart (`make_preprocess`, data.crop_size; the single-crop evaluation of VGG and
ResNet, where AlexNet averaged ten crops).
`make_augment(config)` composes them from the `data.augment` config (window crop, then padded
crop, then shift, then flip), each with its own key `fold_in(key, stream)`, and returns None when
all are off.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Callable

import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError

AugmentFn = Callable[[jax.Array, jax.Array], jax.Array]

PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")
# data.augment keys and their defaults (each default turns its op off).
DEFAULTS: dict[str, Any] = {"random_crop_padding": 0, "horizontal_flip": False, "max_shift": 0,
                            "random_crop_size": 0}
# fold_in data for each op's key ("crop", "flip", "shft", "wind" in ASCII): fixed per op, so
# turning one op on or off does not change the randomness of the others.
STREAMS = {"crop": 0x63726F70, "flip": 0x666C6970, "shift": 0x73686674, "window": 0x77696E64}


def _check_images(images: jax.Array, name: str) -> None:
  if images.ndim not in (3, 4):
    raise ConfigError(f"{name} needs an image batch (B, H, W) or (B, H, W, C), got shape "
                      f"{tuple(images.shape)}; set data.augment only for image datasets.")


def _check_count(value: Any, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
    raise ConfigError(f"{name} must be an int >= 0 (0 = off), got {value!r}.")
  return int(value)


def _crop_offsets(key: jax.Array, batch: int, padding: int) -> jax.Array:
  """int32 (batch, 2) offsets (oy, ox), each uniform on {0, ..., 2 * padding}."""
  return jax.random.randint(key, (batch, 2), 0, 2 * padding + 1, dtype=jnp.int32)


def random_crop(key: jax.Array, images: jax.Array, padding: int,
                pad_mode: str = "constant") -> jax.Array:
  """Pads H and W by `padding` on each side (`jnp.pad` mode `pad_mode`; 'constant' pads with
  zeros), then crops each example back to (H, W) at its own offsets (oy, ox) ~ U{0..2p}^2:
  out[b] = padded[b, oy:oy + H, ox:ox + W]. REG-6 (crop); padding 0 is the identity."""
  _check_images(images, "random_crop")
  padding = _check_count(padding, "random_crop padding")
  if pad_mode not in PAD_MODES:
    raise ConfigError(f"Unknown pad_mode {pad_mode!r}; valid: {', '.join(PAD_MODES)}.")
  if padding == 0:
    return images
  b, h, w = images.shape[:3]
  pad = [(0, 0), (padding, padding), (padding, padding)] + [(0, 0)] * (images.ndim - 3)
  padded = jnp.pad(images, pad, mode=pad_mode)
  offsets = _crop_offsets(key, b, padding)
  zeros = (0,) * (images.ndim - 3)

  def crop_one(x: jax.Array, off: jax.Array) -> jax.Array:
    return jax.lax.dynamic_slice(x, (off[0], off[1], *zeros), (h, w, *images.shape[3:]))

  return jax.vmap(crop_one)(padded, offsets)


def random_shift(key: jax.Array, images: jax.Array, max_shift: int) -> jax.Array:
  """Translates each example by its own integer (dy, dx) ~ U{-m..m}^2 with zero fill:
  out[b, i, j] = x[b, i - dy, j - dx] (0 outside). REG-6 (translation, e.g. for digits).
  Implemented as a zero-pad crop: offset o = m - shift, so max_shift 0 is the identity."""
  _check_images(images, "random_shift")
  return random_crop(key, images, _check_count(max_shift, "max_shift"), "constant")


def _check_window(images: jax.Array, size: int, name: str) -> tuple[int, int]:
  h, w = int(images.shape[1]), int(images.shape[2])
  if size > h or size > w:
    raise ConfigError(f"{name} {size} is larger than the {h}x{w} images; use a crop size <= "
                      f"{min(h, w)} (or a larger data.resize_size).")
  return h, w


def random_window_crop(key: jax.Array, images: jax.Array, size: int) -> jax.Array:
  """Crops each example to (size, size) at its own offsets oy ~ U{0..H-size}, ox ~ U{0..W-size}:
  out[b] = x[b, oy:oy + size, ox:ox + size]. REG-6 (crop): the AlexNet/VGG "random 224 crop of
  a 256 image" (canonical, not from seed); size 0 is the identity, size > H or W a ConfigError."""
  _check_images(images, "random_window_crop")
  size = _check_count(size, "random_window_crop size")
  if size == 0:
    return images
  h, w = _check_window(images, size, "random_window_crop size")
  b = images.shape[0]
  high = jnp.asarray([h - size + 1, w - size + 1], jnp.int32)
  offsets = jax.random.randint(key, (b, 2), 0, high, dtype=jnp.int32)
  zeros = (0,) * (images.ndim - 3)

  def crop_one(x: jax.Array, off: jax.Array) -> jax.Array:
    return jax.lax.dynamic_slice(x, (off[0], off[1], *zeros), (size, size, *images.shape[3:]))

  return jax.vmap(crop_one)(images, offsets)


def center_crop(images: jax.Array, size: int) -> jax.Array:
  """The central (size, size) window: out = x[:, t:t + size, l:l + size] with t = (H - size) // 2,
  l = (W - size) // 2 (static slice; size 0 is the identity). The evaluation counterpart of
  `random_window_crop` (canonical, not from seed: single central 224 crop of VGG/ResNet)."""
  _check_images(images, "center_crop")
  size = _check_count(size, "center_crop size")
  if size == 0:
    return images
  h, w = _check_window(images, size, "center_crop size")
  top, left = (h - size) // 2, (w - size) // 2
  return images[:, top:top + size, left:left + size]


def random_flip(key: jax.Array, images: jax.Array, prob: float = 0.5) -> jax.Array:
  """Horizontal flip per example: out[b] = x[b, :, ::-1] with probability `prob`, else x[b].
  REG-6 (horizontal flip). The same key flips the same examples, so it is an involution."""
  _check_images(images, "random_flip")
  if not 0.0 <= float(prob) <= 1.0:
    raise ConfigError(f"random_flip prob must be in [0, 1], got {prob!r}.")
  flip = jax.random.bernoulli(key, prob, (images.shape[0],))
  flip = flip.reshape((-1,) + (1,) * (images.ndim - 1))
  return jnp.where(flip, images[:, :, ::-1], images)


def _as_dict(augment_config: Any) -> dict[str, Any]:
  if augment_config is None:
    return {}
  if hasattr(augment_config, "to_dict"):  # ml_collections ConfigDict / FrozenConfigDict
    augment_config = augment_config.to_dict()
  if not isinstance(augment_config, Mapping):
    raise ConfigError(f"data.augment must be a dict of {', '.join(DEFAULTS)}, got "
                      f"{augment_config!r}.")
  unknown = sorted(str(k) for k in augment_config if k not in DEFAULTS)
  if unknown:
    raise ConfigError(f"Unknown data.augment key {unknown[0]!r}; valid keys: "
                      f"{', '.join(DEFAULTS)}.")
  return {k: (DEFAULTS[k] if v is None else v) for k, v in augment_config.items()}


def augment_crop_size(augment_config: Any) -> int:
  """`data.augment.random_crop_size` (0 when unset): the side of the training window crop, which
  `make_preprocess` matches with the evaluation center crop (data.crop_size)."""
  cfg = {**DEFAULTS, **_as_dict(augment_config)}
  return _check_count(cfg["random_crop_size"], "data.augment.random_crop_size")


def make_augment(augment_config: Any) -> AugmentFn | None:
  """`fn(key, images) -> images` from `data.augment` (a dict or ConfigDict; None = empty) with
  keys random_crop_size (int, 0 = off), random_crop_padding (int, 0 = off), horizontal_flip
  (bool, p = 0.5) and max_shift (int, 0 = off); applies the window crop, then the padded crop,
  then shift, then flip, each with key `fold_in(key, STREAMS[op])`. Returns None when every op
  is off; ConfigError for an unknown key or an ill-typed value. REG-6."""
  cfg = {**DEFAULTS, **_as_dict(augment_config)}
  window = augment_crop_size(augment_config)
  padding = _check_count(cfg["random_crop_padding"], "data.augment.random_crop_padding")
  max_shift = _check_count(cfg["max_shift"], "data.augment.max_shift")
  flip = cfg["horizontal_flip"]
  if not isinstance(flip, bool):
    raise ConfigError(f"data.augment.horizontal_flip must be True or False, got {flip!r}.")
  if not (window or padding or max_shift or flip):
    return None

  def augment(key: jax.Array, images: jax.Array) -> jax.Array:
    if window:
      images = random_window_crop(jax.random.fold_in(key, STREAMS["window"]), images, window)
    if padding:
      images = random_crop(jax.random.fold_in(key, STREAMS["crop"]), images, padding)
    if max_shift:
      images = random_shift(jax.random.fold_in(key, STREAMS["shift"]), images, max_shift)
    if flip:
      images = random_flip(jax.random.fold_in(key, STREAMS["flip"]), images)
    return images

  return augment


def random_resized_crop(key: jax.Array, images: jax.Array, min_side: float = 0.6) -> jax.Array:
  """SimCLR's crop-and-resize for square-ish images: per example a window of side f·H x f·W,
  f ~ U[min_side, 1], at offset (oy, ox) ~ U[0, (1-f)H] x U[0, (1-f)W], resized (bilinear) back
  to H x W: out(y, x) = in(f·y + oy, f·x + ox). Float images (B, H, W) or (B, H, W, C)."""
  _check_images(images, "random_resized_crop")
  if not 0.0 < float(min_side) <= 1.0:
    raise ConfigError(f"random_resized_crop min_side must be in (0, 1], got {min_side!r}.")
  b, h, w = images.shape[:3]
  k_side, k_y, k_x = jax.random.split(key, 3)
  side = jax.random.uniform(k_side, (b,), minval=float(min_side), maxval=1.0)
  oy = jax.random.uniform(k_y, (b,)) * (1.0 - side) * h
  ox = jax.random.uniform(k_x, (b,)) * (1.0 - side) * w

  def one(image, f, y, x):
    return jax.image.scale_and_translate(
        image.astype(jnp.float32), image.shape, (0, 1), jnp.stack([1.0 / f, 1.0 / f]),
        jnp.stack([-y / f, -x / f]), method="linear", antialias=False)

  return jax.vmap(one)(images, side, oy, ox).astype(images.dtype)
