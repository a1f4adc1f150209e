"""Convolution arithmetic and parameter counting (curriculum §2b LAY-5, LAY-6, LAY-7).

Output size of a convolution or pooling along one spatial axis of size n (000 §2.1.2-2.1.3,
generalised with dilation d and asymmetric padding (p_lo, p_hi), as XLA computes it):

  effective kernel   k_eff = d (k - 1) + 1                                       LAY-7
  explicit padding   n' = floor((n + p_lo + p_hi - d (k - 1) - 1) / s) + 1
                        = floor((n + p_lo + p_hi - k_eff) / s) + 1               LAY-5
  'VALID'            p_lo = p_hi = 0
  'SAME'             n' = ceil(n / s), whatever k and d (XLA/Flax: the padding
                     max((n' - 1) s + k_eff - n, 0) is split with the extra pixel at the end).
                     The seed's "same = p = floor((k - 1)/2)" agrees for odd k and s = 1.
  an int p           p_lo = p_hi = p (PyTorch's `padding=p`)

Pooling (LAY-8/9) uses the same formula with dilation 1; dlcore's `max_pool`/`avg_pool` default
the stride to the window (`pool_output_size` does too).

Parameters of a 2-D convolution with C inputs, C' outputs and g groups (002 eq.48 for g = 1;
the 000 seed's k_h k_w C C' omits the bias):

  conv_param_count = k_h k_w (C / g) C' + C'   (the + C' only with a bias)

A 1x1 convolution (LAY-6) is a per-pixel Dense layer over the channels, z[i, j] = x[i, j] W + b:
it changes the channel count (bottleneck, projection shortcut, transition) and keeps H and W
(stride 1). `conv1x1` builds that `flax.linen.Conv`. Convolutions here are cross-correlations
(`lax.conv`, curriculum §0 item 6).

Invalid geometry (an output smaller than 1, a non-positive size) raises `ConfigError`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import flax.linen as nn
import jax
import numpy as np

from dlcore.errors import ConfigError

Padding1D = str | int | tuple[int, int]
Pair = int | Sequence[int]


def _positive(value: int, what: str) -> int:
  if isinstance(value, bool) or int(value) != value or value < 1:
    raise ConfigError(f"The {what} must be a positive integer; got {value!r}.")
  return int(value)


def _pads(padding: Padding1D) -> tuple[int, int] | str:
  """'SAME'/'VALID' (upper-cased), an int p -> (p, p), or a (lo, hi) pair, all >= 0."""
  if isinstance(padding, str):
    mode = padding.upper()
    if mode not in ("SAME", "VALID"):
      raise ConfigError(f"padding {padding!r} is unknown; use 'SAME', 'VALID', an int or a "
                        f"(lo, hi) pair.")
    return (0, 0) if mode == "VALID" else mode
  pads = (padding, padding) if isinstance(padding, (int, np.integer)) else tuple(padding)
  if len(pads) != 2 or any(int(p) != p or p < 0 for p in pads):
    raise ConfigError(f"padding {padding!r} must be 'SAME', 'VALID', an int >= 0 or a (lo, hi) "
                      f"pair of ints >= 0.")
  return int(pads[0]), int(pads[1])


def effective_kernel_size(kernel: int, dilation: int = 1) -> int:
  """LAY-7 k_eff = d (k - 1) + 1: the span of a dilated (atrous) kernel (3x3, d = 2 spans 5)."""
  return _positive(dilation, "dilation") * (_positive(kernel, "kernel size") - 1) + 1


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: Padding1D = "VALID",
                     dilation: int = 1) -> int:
  """LAY-5 n' = floor((n + p_lo + p_hi - d (k - 1) - 1) / s) + 1; 'SAME' gives ceil(n / s).

  `padding` is 'SAME', 'VALID', an int p (both sides) or a (lo, hi) pair. Raises `ConfigError`
  when the output would be smaller than 1.
  """
  size = _positive(size, "input size")
  stride = _positive(stride, "stride")
  k_eff = effective_kernel_size(kernel, dilation)
  pads = _pads(padding)
  if pads == "SAME":
    return -(-size // stride)
  span = size + pads[0] + pads[1] - k_eff
  if span < 0:
    raise ConfigError(f"A kernel of effective size {k_eff} (k={kernel}, dilation={dilation}) "
                      f"does not fit an input of size {size} with padding {pads}: the output "
                      f"would be < 1; use a larger input, more padding or a smaller kernel.")
  return span // stride + 1


def pool_output_size(size: int, window: int, stride: int | None = None,
                     padding: Padding1D = "VALID") -> int:
  """LAY-8/9 pooled size, the LAY-5 formula with d = 1; `stride=None` means stride = window
  (dlcore's `max_pool`/`avg_pool` convention)."""
  return conv_output_size(size, window, window if stride is None else stride, padding)


def _pair(value: Pair, what: str) -> tuple[int, int]:
  if isinstance(value, (int, np.integer)):
    return int(value), int(value)
  value = tuple(value)
  if len(value) != 2:
    raise ConfigError(f"The {what} {value!r} needs 2 entries (height, width).")
  return int(value[0]), int(value[1])


def _pads_2d(padding: Any) -> tuple[Padding1D, Padding1D]:
  """Flax's `nn.Conv` padding forms: a string, an int, or one int or (lo, hi) pair per axis."""
  if isinstance(padding, (str, int, np.integer)):
    return padding, padding
  padding = tuple(padding)
  if len(padding) != 2:
    raise ConfigError(f"2-D padding {padding!r} needs one int or (lo, hi) pair per axis, as "
                      f"flax.linen.Conv takes it.")
  return tuple(tuple(p) if not isinstance(p, (int, np.integer)) else p for p in padding)


def conv_output_shape(hw: Sequence[int], kernel: Pair, stride: Pair = 1, padding: Any = "VALID",
                      dilation: Pair = 1) -> tuple[int, int]:
  """LAY-5 (H', W') of a 2-D convolution: `conv_output_size` per axis. `kernel`, `stride` and
  `dilation` are ints or (h, w) pairs; `padding` follows `flax.linen.Conv`: 'SAME', 'VALID', an
  int, or per axis an int (symmetric) or a (lo, hi) pair, e.g. ((1, 2), (1, 2))."""
  (h, w), (kh, kw) = _pair(hw, "input shape"), _pair(kernel, "kernel")
  (sh, sw), (dh, dw) = _pair(stride, "stride"), _pair(dilation, "dilation")
  ph, pw = _pads_2d(padding)
  return conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)


def pool_output_shape(hw: Sequence[int], window: Pair, stride: Pair | None = None,
                      padding: Any = "VALID") -> tuple[int, int]:
  """LAY-8/9 (H', W') after pooling; `stride=None` means stride = window."""
  return conv_output_shape(hw, window, window if stride is None else stride, padding)


def conv_param_count(kernel_h: int, kernel_w: int, in_channels: int, out_channels: int,
                     bias: bool = True, groups: int = 1) -> int:
  """LAY-5 k_h k_w (C / g) C' + C' (002 eq.48; the bias term only with `bias`, 000 omits it).

  `groups` = g splits the channels into g independent convolutions (g = C is depthwise); C and C'
  must be divisible by g.
  """
  kernel_h, kernel_w = _positive(kernel_h, "kernel height"), _positive(kernel_w, "kernel width")
  c_in, c_out = _positive(in_channels, "in_channels"), _positive(out_channels, "out_channels")
  groups = _positive(groups, "groups")
  if c_in % groups or c_out % groups:
    raise ConfigError(f"groups={groups} must divide both in_channels={c_in} and "
                      f"out_channels={c_out}.")
  return kernel_h * kernel_w * (c_in // groups) * c_out + (c_out if bias else 0)


def count_params(params: Any) -> int:
  """Number of scalars in a pytree of arrays (or `jax.ShapeDtypeStruct`s from `jax.eval_shape`).

  Pass `variables['params']`: `batch_stats` are state, not parameters.
  """
  return sum(math.prod(leaf.shape) if hasattr(leaf, "shape") else int(np.size(leaf))
             for leaf in jax.tree.leaves(params))


def conv1x1(features: int, strides: Pair = 1, use_bias: bool = True, **kwargs: Any) -> nn.Conv:
  """LAY-6 a 1x1 `flax.linen.Conv`: z[i, j] = x[i s, j s] W + b, W of shape (1, 1, C, C').

  Channel reduction/projection (Inception, bottleneck, projection shortcut, transition layer);
  other keyword arguments (name, dtype, kernel_init, ...) go to `nn.Conv`.
  """
  features = _positive(features, "number of features")
  return nn.Conv(features, (1, 1), strides=_pair(strides, "stride"), padding="VALID",
                 use_bias=use_bias, **kwargs)
