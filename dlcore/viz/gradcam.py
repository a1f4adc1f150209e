"""Grad-CAM heatmaps (curriculum ROB-3; 003 §VI.2). Canonical, not from seed: Selvaraju et al.
2017, "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization".

For the target conv output A (B, h, w, K) and the class score y^c (a logit):

  alpha_k^c = (1 / hw) sum_{i,j} d y^c / d A^k_ij          (global-average-pooled gradients)
  L^c       = ReLU(sum_k alpha_k^c A^k)                    (h, w)
  L^c      <- L^c / max_{i,j} L^c   (0 where L^c is all 0), then bilinear resize to (H, W)

For conv -> global average pool -> Dense(W) this is CAM (Zhou et al. 2016): alpha_k^c =
W[k, c] / hw. The target defaults to the LAST `nn.Conv` called in the forward pass. dy/dA is
found without touching model code: `nn.intercept_methods` adds a zero perturbation delta to the
target conv's output and we take the VJP w.r.t. delta with cotangent one_hot(c) per example
(eval mode keeps examples independent, so the gradient of sum_b y_b^{c_b} is per example).
Everything is traceable: `jax.jit(lambda v, x: grad_cam(model, v, x))` works (model, layer
static).
"""

from __future__ import annotations

import pathlib
from typing import Any, Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

from dlcore.errors import ConfigError
from dlcore.viz.feature_maps import is_conv_call, layer_name, to_display

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _conv_interceptor(on_call):
  """An interceptor calling `on_call(name, output) -> output` for every conv call."""
  counts: dict[tuple[str, ...], int] = {}

  def interceptor(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if not is_conv_call(context.module, context.method_name):
      return out
    path = tuple(context.module.path)
    i = counts.get(path, 0)
    counts[path] = i + 1
    return on_call(layer_name(path, i), out)

  return interceptor


def conv_calls(model: nn.Module, variables: Mapping[str, Any],
               images: Any) -> list[tuple[str, jax.ShapeDtypeStruct]]:
  """(name, output shape/dtype) of every conv call in true call order (`jax.eval_shape`, no
  compute). Names match `conv_feature_maps`."""
  names: list[str] = []

  def forward(v, x):
    outs = []

    def record(name, out):
      names.append(name)
      outs.append(out)
      return out

    with nn.intercept_methods(_conv_interceptor(record)):
      model.apply(v, x, train=False)
    return outs

  shapes = jax.eval_shape(forward, variables, images)
  return list(zip(names, shapes))


def grad_cam(model: nn.Module, variables: Mapping[str, Any], images: Any,
             class_index: int | Any | None = None,
             layer: str | None = None) -> tuple[jax.Array, jax.Array]:
  """ROB-3: (heatmaps (B, H, W) in [0, 1] at the input size, logits (B, K)).

  `class_index`: None = each example's predicted class (argmax of its logits), an int for all
  examples, or a (B,) array. `layer`: a conv name as in `conv_feature_maps` (default: the last
  conv called).
  """
  images = jnp.asarray(images)
  calls = conv_calls(model, variables, images)
  if not calls:
    raise ConfigError(f"grad_cam needs a model with an nn.Conv layer; "
                      f"{type(model).__name__} calls none.")
  names = [name for name, _ in calls]
  target = names[-1] if layer is None else layer
  if target not in names:
    raise ConfigError(f"grad_cam layer {target!r} is not a conv of {type(model).__name__}; "
                      f"use one of {names}.")
  shape = dict(calls)[target]

  def forward(delta):
    captured = []

    def perturb(name, out):
      if name == target:
        out = out + delta
        captured.append(out)
      return out

    with nn.intercept_methods(_conv_interceptor(perturb)):
      logits = model.apply(variables, images, train=False)
    return logits, captured[0]

  (logits, acts), vjp = jax.vjp(forward, jnp.zeros(shape.shape, shape.dtype))
  batch, num_classes = logits.shape
  if class_index is None:
    classes = jnp.argmax(logits, axis=-1)
  else:
    classes = jnp.broadcast_to(jnp.asarray(class_index, jnp.int32), (batch,))
  cotangent = jax.nn.one_hot(classes, num_classes, dtype=logits.dtype)
  (grads,) = vjp((cotangent, jnp.zeros_like(acts)))
  acts = acts.astype(jnp.float32)
  alpha = jnp.mean(grads.astype(jnp.float32), axis=(1, 2))           # (B, K)
  cam = jax.nn.relu(jnp.einsum("bhwk,bk->bhw", acts, alpha))
  peak = jnp.max(cam, axis=(1, 2), keepdims=True)
  cam = jnp.where(peak > 0, cam / jnp.where(peak > 0, peak, 1.0), 0.0)
  height, width = images.shape[1], images.shape[2]
  cam = jax.image.resize(cam, (batch, height, width), method="bilinear")
  return jnp.clip(cam, 0.0, 1.0), logits


def plot_grad_cam(images: Any, heatmaps: Any, out_path: str | pathlib.Path,
                  labels: Sequence[int] | None = None, preds: Sequence[int] | None = None,
                  max_items: int = 16) -> pathlib.Path:
  """ROB-3: one column per image (at most `max_items`): the image, then the heatmap overlaid
  on it (jet, alpha 0.5), titled "true t / pred p" when labels/preds are given."""
  out_path = pathlib.Path(out_path)
  out_path.parent.mkdir(parents=True, exist_ok=True)
  images, heatmaps = np.asarray(images), np.asarray(heatmaps, dtype=np.float32)
  n = min(len(images), max_items)
  fig, axes = plt.subplots(2, max(n, 1), figsize=(1.8 * max(n, 1), 4), squeeze=False)
  for i in range(n):
    img, cmap = to_display(images[i])
    axes[0, i].imshow(img, cmap=cmap)
    axes[1, i].imshow(img, cmap=cmap)
    axes[1, i].imshow(heatmaps[i], cmap="jet", alpha=0.5, vmin=0.0, vmax=1.0)
    parts = [f"true {labels[i]}" if labels is not None else "",
             f"pred {preds[i]}" if preds is not None else ""]
    axes[0, i].set_title(" / ".join(p for p in parts if p), fontsize=8)
  for ax in axes.flat:
    ax.axis("off")
  fig.suptitle("Grad-CAM", fontsize=10)
  fig.tight_layout()
  fig.savefig(out_path, dpi=90)
  plt.close(fig)
  return out_path
