"""Conv feature maps: capture every convolution's output and plot it (curriculum ROB-6).

Exercise 002 §11.2.2 asks to "visualise the conv feature maps to see what different layers
learn". `conv_feature_maps` runs the model once in eval mode with Flax's
`capture_intermediates`, filtered to `nn.Conv.__call__`, so no model code changes:

  maps[name] = output of that conv, (B, h, w, c)        name = module path joined by '/'
                                                        ('conv_0', 'layer1_block0/conv1')

Entries are in call order (of each conv's first call); a conv module called more than once
gets one entry per call, the later ones named 'path:1', 'path:2', ... right after 'path'.
`plot_feature_maps` writes one PNG per layer: the input image, then the first `max_channels`
channels of one example on one colour scale shared by those channels (so their magnitudes
compare), titled with the layer name and the map's shape.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any, Mapping

import flax.linen as nn
import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def is_conv_call(module: nn.Module, method_name: str) -> bool:
  """Filter for `capture_intermediates` / interceptors: True for `nn.Conv.__call__`."""
  return isinstance(module, nn.Conv) and method_name == "__call__"


def layer_name(path: tuple[str, ...], call_index: int = 0) -> str:
  """The name of one conv call: module path joined by '/', plus ':i' for the i-th repeat call."""
  name = "/".join(path)
  return name if call_index == 0 else f"{name}:{call_index}"


def _walk(tree: Mapping[str, Any], path: tuple[str, ...], out: dict[str, Any]) -> None:
  for key, value in tree.items():  # dict insertion order == order of first call
    if key == "__call__" and isinstance(value, tuple):
      for i, v in enumerate(value):
        out[layer_name(path, i)] = v
    elif isinstance(value, Mapping):
      _walk(value, path + (key,), out)


def conv_feature_maps(model: nn.Module, variables: Mapping[str, Any],
                      images: Any) -> dict[str, jax.Array]:
  """ROB-6: {conv module path: its output (B, h, w, c)} for one eval-mode forward pass.

  Uses `model.apply(variables, images, train=False, capture_intermediates=is_conv_call)`; the
  variables are not changed (batch-norm statistics are only read in eval mode).
  """
  _, state = model.apply(variables, images, train=False, capture_intermediates=is_conv_call,
                         mutable=["intermediates"])
  maps: dict[str, jax.Array] = {}
  _walk(state.get("intermediates", {}), (), maps)
  return maps


def to_display(image: Any) -> tuple[np.ndarray, str | None]:
  """An image (H, W), (H, W, 1) or (H, W, 3) min-max scaled to [0, 1] for `imshow`, and its
  colour map ('gray' for one channel, None for RGB); other channel counts show channel 0."""
  img = np.asarray(image, dtype=np.float32)
  if img.ndim == 3 and img.shape[-1] != 3:
    img = img[..., 0]
  lo, hi = float(img.min()), float(img.max())
  img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
  return img, ("gray" if img.ndim == 2 else None)


def _pick_image(image: Any, index: int, batch: int) -> np.ndarray:
  img = np.asarray(image)
  if img.ndim == 4 or (img.ndim == 3 and img.shape[0] == batch and img.shape[-1] not in (1, 3)):
    img = img[index]  # a batch (B, H, W, C) or (B, H, W) was given
  return img


def _safe(name: str) -> str:
  return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def plot_feature_maps(maps: Mapping[str, Any], image: Any, out_dir: str | pathlib.Path,
                      index: int = 0, max_channels: int = 16) -> list[pathlib.Path]:
  """ROB-6: one PNG per conv layer, `<out_dir>/<nn>_<layer>.png` in call order.

  Each figure shows the input image (example `index` if a batch is given) and a grid of the
  first `max_channels` channels of `maps[layer][index]`, all on one colour scale (one colour
  bar), titled "<layer> (B, h, w, c)". Returns the written paths.
  """
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  written = []
  for n, (name, fmap) in enumerate(maps.items()):
    fmap = np.asarray(fmap, dtype=np.float32)
    channels = fmap[index][..., :max_channels]
    k = channels.shape[-1]
    cols = min(k + 1, 6)
    rows = math.ceil((k + 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.9 * rows + 0.5), squeeze=False)
    img, cmap = to_display(_pick_image(image, index, fmap.shape[0]))
    axes[0, 0].imshow(img, cmap=cmap)
    axes[0, 0].set_title("input", fontsize=8)
    vmin, vmax = float(channels.min()), float(channels.max())
    shown = None
    for c in range(k):
      ax = axes[(c + 1) // cols, (c + 1) % cols]
      shown = ax.imshow(channels[..., c], cmap="viridis", vmin=vmin, vmax=vmax)
      ax.set_title(f"ch {c}", fontsize=8)
    for ax in axes.flat:
      ax.axis("off")
    if shown is not None:
      fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8)
    fig.suptitle(f"{name} {tuple(fmap.shape)}", fontsize=10)
    path = out_dir / f"{n:02d}_{_safe(name)}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    written.append(path)
  return written
