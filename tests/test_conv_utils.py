"""dlcore.nn.conv (LAY-5, LAY-6, LAY-7): output sizes and parameter counts against Flax/XLA,
a brute-force window count, a NumPy cross-correlation, and hand examples from the seeds."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.nn import (avg_pool, conv1x1, conv_output_shape, conv_output_size, conv_param_count,
                       count_params, effective_kernel_size, max_pool, pool_output_shape,
                       pool_output_size)

KEY = jax.random.key(0, impl="rbg")
paddings = st.one_of(st.sampled_from(["SAME", "VALID", "same", "valid"]),
                     st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)))


def _pads(padding, size, kernel, stride, dilation):
  """Independent (lo, hi) for each padding form; 'SAME' as XLA's padtype_to_pads."""
  if isinstance(padding, str):
    if padding.upper() == "VALID":
      return 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2
  return (padding, padding) if isinstance(padding, int) else padding


def _brute_force_size(size, kernel, stride, padding, dilation):
  """Count the window positions i = 0, s, 2s, ... whose last tap i + d(k-1) is inside the
  padded input of length n + p_lo + p_hi."""
  lo, hi = _pads(padding, size, kernel, stride, dilation)
  length = size + lo + hi
  return sum(1 for i in range(0, length, stride) if i + dilation * (kernel - 1) < length)


@pytest.mark.parametrize("args, expected", [
    ((32, 5, 1, 0), 28),  # LeNet C1: 32x32, 5x5, s1, p0 -> 28 (000 §2.3.1)
    ((224, 7, 2, 3), 112),  # ResNet stem 7x7/s2, p3
    ((227, 11, 4, 0), 55),  # AlexNet conv1 at 227 (Caffe)
    ((224, 11, 4, (1, 2)), 55),  # AlexNet conv1 at 224 with the padding the paper implies
    ((224, 11, 4, 2), 55),  # torchvision's AlexNet padding 2
    ((55, 3, 2, "VALID"), 27),  # AlexNet overlapping pool 3x3/s2
    ((28, 3, 1, 1), 28),  # SimpleCNN: 'same' = p = floor((k-1)/2) for odd k (000 §2.1.3)
    ((28, 3, 1, "SAME"), 28),
    ((225, 3, 2, "SAME"), 113),  # ceil(225/2)
    ((32, 3, 1, 0, 2), 28),  # LAY-7: a 3x3 kernel with dilation 2 spans 5
    ((10, 3, 3, 0), 3),  # floor((10 - 3)/3) + 1 (000 §2.1.2)
])
def test_hand_examples(args, expected):
  assert conv_output_size(*args) == expected


def test_effective_kernel_and_stacked_3x3_receptive_field():
  assert [effective_kernel_size(3, d) for d in (1, 2, 4)] == [3, 5, 9]
  # two stacked 3x3 convs shrink like one 5x5 and use 18 C^2 < 25 C^2 weights (000 §2.3.3)
  assert conv_output_size(conv_output_size(32, 3), 3) == conv_output_size(32, 5) == 28
  c = 64
  assert 2 * conv_param_count(3, 3, c, c, bias=False) == 18 * c * c
  assert conv_param_count(5, 5, c, c, bias=False) == 25 * c * c


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 60), st.integers(1, 7), st.integers(1, 5), paddings, st.integers(1, 4))
def test_formula_matches_brute_force_window_count(size, kernel, stride, padding, dilation):
  expected = _brute_force_size(size, kernel, stride, padding, dilation)
  if expected == 0:
    with pytest.raises(ConfigError, match="output"):
      conv_output_size(size, kernel, stride, padding, dilation)
  else:
    assert conv_output_size(size, kernel, stride, padding, dilation) == expected


def _flax_pad(padding):
  return padding.upper() if isinstance(padding, str) else padding


axis = st.tuples(st.integers(1, 40), st.integers(1, 6), st.integers(1, 4), st.integers(1, 3))


@settings(max_examples=60, deadline=None)
@given(axis, axis, st.one_of(st.sampled_from(["SAME", "VALID"]), st.integers(0, 3),
                             st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3)),
                                       st.tuples(st.integers(0, 3), st.integers(0, 3)))))
def test_conv_output_shape_matches_flax_conv(h_axis, w_axis, padding):
  (h, kh, sh, dh), (w, kw, sw, dw) = h_axis, w_axis
  conv = nn.Conv(2, (kh, kw), strides=(sh, sw), padding=padding, kernel_dilation=(dh, dw))
  x = jax.ShapeDtypeStruct((1, h, w, 1), jnp.float32)
  flax_hw = jax.eval_shape(conv.init_with_output, KEY, x)[0].shape[1:3]
  if min(flax_hw) == 0:  # XLA clamps an impossible output to 0
    with pytest.raises(ConfigError):
      conv_output_shape((h, w), (kh, kw), (sh, sw), padding, (dh, dw))
  else:
    assert conv_output_shape((h, w), (kh, kw), (sh, sw), padding, (dh, dw)) == flax_hw


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 4), st.none() | st.integers(1, 4),
       st.one_of(st.sampled_from(["SAME", "VALID"]),
                 st.tuples(st.integers(0, 2), st.integers(0, 2))))
def test_pool_output_size_matches_dlcore_pools(h, w, window, stride, padding):
  pads = padding if isinstance(padding, str) else (padding, padding)
  x = jax.ShapeDtypeStruct((2, h, w, 3), jnp.float32)
  shapes = {jax.eval_shape(lambda v, f=f: f(v, window, stride, pads), x).shape
            for f in (max_pool, avg_pool)}
  assert len(shapes) == 1
  (_, ph, pw, _), = shapes
  if min(ph, pw) == 0:
    with pytest.raises(ConfigError):
      pool_output_shape((h, w), window, stride, pads)
  else:
    assert pool_output_shape((h, w), window, stride, pads) == (ph, pw)
    assert pool_output_size(h, window, stride, padding) == ph


def _numpy_xcorr_1d(x, w, stride, pads, dilation):
  """z[i] = sum_u xpad[i s + u d] w[u] (cross-correlation, curriculum §0 item 6)."""
  xp = np.pad(x, pads)
  out = []
  i = 0
  while i + dilation * (len(w) - 1) < len(xp):
    out.append(sum(xp[i + u * dilation] * w[u] for u in range(len(w))))
    i += stride
  return np.array(out)


@settings(max_examples=20, deadline=None)
@given(st.integers(4, 20), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(0, 2), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_output_positions_match_numpy_cross_correlation(size, kernel, stride, lo, hi, dilation,
                                                        seed):
  rng = np.random.default_rng(seed)
  x, w = rng.normal(size=size), rng.normal(size=kernel)
  expected = _numpy_xcorr_1d(x, w, stride, (lo, hi), dilation)
  if expected.size == 0:
    return
  conv = nn.Conv(1, (1, kernel), strides=(1, stride), padding=((0, 0), (lo, hi)),
                 kernel_dilation=(1, dilation), use_bias=False)
  params = {"params": {"kernel": jnp.asarray(w, jnp.float32).reshape(1, kernel, 1, 1)}}
  got = np.asarray(conv.apply(params, jnp.asarray(x, jnp.float32).reshape(1, 1, size, 1)))
  assert got.shape[2] == conv_output_size(size, kernel, stride, (lo, hi), dilation)
  np.testing.assert_allclose(got.reshape(-1), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("args, expected", [
    ((5, 5, 1, 6), 156),  # LeNet C1: 5*5*1*6 + 6
    ((11, 11, 3, 96), 34944),  # AlexNet conv1
    ((3, 3, 3, 64), 1792),  # VGG conv1_1
    ((3, 3, 64, 64, False), 36864),  # no bias: the 000 seed's k_h k_w C C'
    ((5, 5, 96, 256, True, 2), 307456),  # AlexNet's two-tower conv2: 5*5*48*256 + 256
    ((3, 3, 32, 32, True, 32), 320),  # depthwise: 9 * 1 * 32 + 32
])
def test_param_count_hand_examples(args, expected):
  assert conv_param_count(*args) == expected


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 3), st.booleans())
def test_param_count_matches_flax_conv(kh, kw, a, b, groups, bias):
  c_in, c_out = a * groups, b * groups
  conv = nn.Conv(c_out, (kh, kw), feature_group_count=groups, use_bias=bias)
  params = jax.eval_shape(conv.init, KEY, jax.ShapeDtypeStruct((1, 8, 8, c_in), jnp.float32))
  assert count_params(params["params"]) == conv_param_count(kh, kw, c_in, c_out, bias, groups)


def test_count_params_hand_pytree():
  tree = {"a": np.zeros((3, 4)), "b": [np.zeros(5), {"c": np.float32(1.0)}],
          "d": jax.ShapeDtypeStruct((2, 3, 4), jnp.float32)}
  assert count_params(tree) == 12 + 5 + 1 + 24
  assert count_params({}) == 0


def test_conv1x1_is_a_per_pixel_matmul():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 6, 6, 5)).astype(np.float32)
  conv = conv1x1(3)
  variables = conv.init(KEY, x)
  w = np.asarray(variables["params"]["kernel"]).reshape(5, 3)
  b = np.asarray(variables["params"]["bias"])
  np.testing.assert_allclose(np.asarray(conv.apply(variables, x)),
                             np.einsum("nhwc,cd->nhwd", x, w) + b, rtol=1e-5, atol=1e-5)
  strided = conv1x1(3, strides=2, use_bias=False)
  vs = strided.init(KEY, x)
  np.testing.assert_allclose(np.asarray(strided.apply(vs, x)),
                             x[:, ::2, ::2] @ np.asarray(vs["params"]["kernel"]).reshape(5, 3),
                             rtol=1e-5, atol=1e-5)
  assert count_params(vs["params"]) == conv_param_count(1, 1, 5, 3, bias=False) == 15


@pytest.mark.parametrize("call", [
    lambda: conv_output_size(4, 5),  # output 0
    lambda: conv_output_size(4, 3, dilation=2),  # spans 5 > 4
    lambda: conv_output_size(8, 3, padding="FULL"),
    lambda: conv_output_size(8, 3, padding=-1),
    lambda: conv_output_size(8, 3, padding=(1, 2, 3)),
    lambda: conv_output_size(8, 0),
    lambda: conv_output_size(0, 1),
    lambda: conv_output_size(8, 3, stride=0),
    lambda: conv_output_shape((8, 8), (3, 3, 3)),
    lambda: conv_param_count(3, 3, 6, 4, groups=4),  # 4 does not divide 6
])
def test_invalid_geometry_raises_config_error(call):
  with pytest.raises(ConfigError):
    call()
