"""Max, average and global-average pooling for channels-last inputs (LAY-8, LAY-9, LAY-10).

Inputs are (batch, *spatial, channels), i.e. NHWC for images (curriculum §0 item 13).

  max_pool         LAY-8   Z[i, j] = max_{0<=u<kh, 0<=v<kw} X[i*s_h + u, j*s_w + v]
  avg_pool         LAY-9   Z[i, j] = 1/(kh kw) sum_{u, v} X[i*s_h + u, j*s_w + v]
  global_avg_pool  LAY-10  Z[c] = 1/(H W) sum_{i, j} X[i, j, c]

`strides=None` means strides = window (PyTorch's convention and the seeds' "2x2, stride 2"; note
that `flax.linen.max_pool` instead defaults to stride 1).

Fast path. When the windows tile the input (strides == window, padding 'VALID', or 'SAME' with
every spatial size divisible by its window), the input is cropped to multiples of the window,
reshaped to (B, H//kh, kh, W//kw, kw, C) and reduced over the window axes. On XLA:CPU its
gradient is ~2.5x faster than `flax.linen.max_pool`, whose reduce_window gradient
(select-and-scatter) is the bottleneck. Other cases fall back to `flax.linen.max_pool/avg_pool`.

Forward values are identical on both paths. Gradients differ only on exact ties inside a window:
the reshape path differentiates `jnp.max`, which splits the cotangent equally among all tied
maxima (1/n each), while reduce_window's select-and-scatter routes all of it to one element (the
first maximum in row-major window order). Without ties both give 1 to the argmax and 0 elsewhere.
After a ReLU, all-zero windows tie, but the ReLU's own zero derivative at negative inputs
removes that difference; only exact ties of positive values can differ.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

Window = int | Sequence[int]
Padding = str | Sequence[tuple[int, int]]


def _as_tuple(value: Window, n: int, what: str) -> tuple[int, ...]:
  if isinstance(value, int):
    return (value,) * n
  value = tuple(int(v) for v in value)
  if len(value) != n:
    raise ValueError(f"{what} {value} needs {n} entries, one per spatial axis")
  return value


def _normalize(x: jnp.ndarray, window: Window,
               strides: Window | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
  if x.ndim < 3:
    raise ValueError(f"pooling expects (batch, *spatial, channels), got shape {x.shape}")
  n = x.ndim - 2
  window = _as_tuple(window, n, "window")
  strides = window if strides is None else _as_tuple(strides, n, "strides")
  return window, strides


def _tiles(x: jnp.ndarray, window: tuple[int, ...], strides: tuple[int, ...],
           padding: Padding) -> bool:
  """True when the windows are non-overlapping and cover the (cropped) input without padding."""
  if window != strides or not isinstance(padding, str):
    return False
  if padding.upper() == "VALID":
    return all(k <= s for k, s in zip(window, x.shape[1:-1]))
  if padding.upper() == "SAME":
    return all(s % k == 0 for k, s in zip(window, x.shape[1:-1]))
  return False


def _blocks(x: jnp.ndarray, window: tuple[int, ...]) -> tuple[jnp.ndarray, tuple[int, ...]]:
  """Crop to multiples of `window` and reshape to (B, n_1, k_1, n_2, k_2, ..., C)."""
  spatial = x.shape[1:-1]
  counts = [s // k for s, k in zip(spatial, window)]
  x = x[(slice(None),) + tuple(slice(0, c * k) for c, k in zip(counts, window))]
  shape = [x.shape[0]]
  for c, k in zip(counts, window):
    shape += [c, k]
  shape.append(x.shape[-1])
  axes = tuple(2 + 2 * i for i in range(len(window)))
  return x.reshape(shape), axes


def max_pool(x: jnp.ndarray, window: Window, strides: Window | None = None,
             padding: Padding = "VALID") -> jnp.ndarray:
  """LAY-8 max pooling over (batch, *spatial, channels); see the module docstring for the paths."""
  window, strides = _normalize(x, window, strides)
  if _tiles(x, window, strides, padding):
    blocks, axes = _blocks(x, window)
    return blocks.max(axis=axes)
  return nn.max_pool(x, window, strides=strides, padding=padding)


def avg_pool(x: jnp.ndarray, window: Window, strides: Window | None = None,
             padding: Padding = "VALID", count_include_pad: bool = True) -> jnp.ndarray:
  """LAY-9 average pooling; with padding, `count_include_pad` chooses the divisor (Flax's)."""
  window, strides = _normalize(x, window, strides)
  if _tiles(x, window, strides, padding):
    blocks, axes = _blocks(x, window)
    return blocks.mean(axis=axes)
  return nn.avg_pool(x, window, strides=strides, padding=padding,
                     count_include_pad=count_include_pad)


def global_avg_pool(x: jnp.ndarray, keepdims: bool = False) -> jnp.ndarray:
  """LAY-10 mean over all spatial axes: (B, *spatial, C) -> (B, C) (or (B, 1, ..., 1, C))."""
  if x.ndim < 3:
    raise ValueError(f"global_avg_pool expects (batch, *spatial, channels), got shape {x.shape}")
  return x.mean(axis=tuple(range(1, x.ndim - 1)), keepdims=keepdims)
