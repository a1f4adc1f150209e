"""Inspection tools in dlcore.viz: conv feature maps (ROB-6), Grad-CAM (ROB-3), confusion matrix,
error gallery. Checked against hand-written NumPy (convolution, CAM closed form, bilinear
resize) and lax.conv_general_dilated."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.models.cnn.simple_cnn import SimpleCNN
from dlcore.viz import (conv_calls, conv_feature_maps, grad_cam, misclassified,
                        plot_confusion_matrix, plot_error_gallery, plot_feature_maps,
                        plot_grad_cam)

PNG = b"\x89PNG\r\n\x1a\n"
PAD = ((1, 1), (1, 1))


class CamNet(nn.Module):
  """conv_0 -> ReLU -> conv_1 (stride 2) -> [ReLU] -> global average pool -> Dense(head)."""
  relu_last: bool = False

  @nn.compact
  def __call__(self, x, train=False):
    x = nn.relu(nn.Conv(4, (3, 3), padding=PAD, name="conv_0")(x))
    x = nn.Conv(6, (3, 3), strides=(2, 2), padding=PAD, name="conv_1")(x)
    if self.relu_last:
      x = nn.relu(x)
    return nn.Dense(5, name="head")(x.mean(axis=(1, 2)))


class Block(nn.Module):
  @nn.compact
  def __call__(self, x):
    return nn.Conv(3, (3, 3), name="zz")(nn.Conv(3, (3, 3), name="aa_late")(x))


class Ordered(nn.Module):
  """Names not in alphabetical order, a nested block and a conv called twice."""

  @nn.compact
  def __call__(self, x, train=False):
    shared = nn.Conv(3, (3, 3), name="z_conv")
    x = Block(name="blk")(shared(x))
    x = shared(nn.Conv(3, (3, 3), strides=(2, 2), name="a_conv")(x))
    return nn.Dense(2)(x.mean(axis=(1, 2)))


class NoConv(nn.Module):
  @nn.compact
  def __call__(self, x, train=False):
    return nn.Dense(3)(x.reshape(x.shape[0], -1))


def np_conv(x, kernel, bias, stride=1, pad=1):
  """Cross-correlation NHWC x HWIO with symmetric zero padding, by explicit sums."""
  x = np.pad(np.asarray(x, np.float64), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  kh, kw, _, cout = kernel.shape
  oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
  out = np.zeros((x.shape[0], oh, ow, cout)) + np.asarray(bias, np.float64)
  for di in range(kh):
    for dj in range(kw):
      patch = x[:, di:di + stride * oh:stride, dj:dj + stride * ow:stride, :]
      out += patch @ np.asarray(kernel[di, dj], np.float64)
  return out


def np_bilinear(img, height, width):
  """Half-pixel-centre bilinear upsampling with edge clamping, per axis."""
  def axis_weights(n_in, n_out):
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - (src - lo)
    m[np.arange(n_out), hi] += src - lo
    return m
  return axis_weights(img.shape[0], height) @ img @ axis_weights(img.shape[1], width).T


def cam_closed_form(params, images, classes, relu_last):
  """CAM (Zhou et al. 2016): alpha_k^c = W[k, c] / hw, times the ReLU mask's share if any."""
  p = jax.tree_util.tree_map(np.asarray, params)
  a0 = np.maximum(np_conv(images, p["conv_0"]["kernel"], p["conv_0"]["bias"]), 0)
  acts = np_conv(a0, p["conv_1"]["kernel"], p["conv_1"]["bias"], stride=2)
  hw = acts.shape[1] * acts.shape[2]
  w = p["head"]["kernel"].astype(np.float64)
  out = []
  for b, c in enumerate(classes):
    if relu_last:  # dy/dA_ij^k = W[k,c]/hw * 1[A_ij^k > 0]
      alpha = w[:, c] * (acts[b] > 0).sum(axis=(0, 1)) / hw ** 2
    else:
      alpha = w[:, c] / hw
    cam = np.maximum(acts[b] @ alpha, 0)
    cam = cam / cam.max() if cam.max() > 0 else cam
    out.append(np_bilinear(cam, images.shape[1], images.shape[2]))
  return np.stack(out)


def np_init(model, x, seed=0):
  """Random variables of the right shapes without `model.init` (whose truncated-normal draws
  compile per shape: seconds each on a loaded CPU); batch-norm variances positive."""
  rng = np.random.default_rng(seed)
  shapes = jax.eval_shape(model.init, jax.random.key(0), x)

  def draw(path, s):
    if getattr(path[-1], "key", None) == "var":
      return rng.uniform(0.5, 1.5, s.shape).astype(s.dtype)
    return (0.5 * rng.normal(size=s.shape)).astype(s.dtype)

  return jax.tree_util.tree_map_with_path(draw, shapes)


def _setup(relu_last=False, batch=3, size=8, seed=0):
  model = CamNet(relu_last=relu_last)
  images = np.random.default_rng(seed).normal(size=(batch, size, size, 2)).astype(np.float32)
  return model, np_init(model, images, seed), images


@pytest.mark.parametrize("relu_last", [False, True])
def test_grad_cam_matches_cam_closed_form(relu_last):
  model, variables, images = _setup(relu_last)
  classes = np.array([0, 3, 4])
  heat, logits = grad_cam(model, variables, images, class_index=classes)
  assert heat.shape == (3, 8, 8) and logits.shape == (3, 5)
  want = cam_closed_form(variables["params"], images, classes, relu_last)
  np.testing.assert_allclose(np.asarray(heat), want, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(np.asarray(logits), np.asarray(model.apply(variables, images)),
                             rtol=1e-6)
  assert np.all(np.asarray(heat).max(axis=(1, 2)) > 0.5)  # normalised by the peak, then resized


def test_grad_cam_class_defaults_layers_and_jit():
  model, variables, images = _setup()
  heat, logits = grad_cam(model, variables, images)
  pred = np.argmax(np.asarray(logits), axis=-1)
  np.testing.assert_allclose(heat, grad_cam(model, variables, images, class_index=pred)[0])
  np.testing.assert_allclose(heat, grad_cam(model, variables, images, layer="conv_1")[0])
  one = grad_cam(model, variables, images, class_index=2)[0]
  np.testing.assert_allclose(one, cam_closed_form(variables["params"], images, [2] * 3, False),
                             rtol=1e-4, atol=1e-5)
  early = grad_cam(model, variables, images, layer="conv_0")[0]
  assert early.shape == heat.shape and not np.allclose(early, heat)
  jitted = jax.jit(lambda v, x: grad_cam(model, v, x))(variables, images)[0]
  np.testing.assert_allclose(jitted, heat, rtol=1e-5, atol=1e-6)
  with pytest.raises(ConfigError, match="conv_0"):
    grad_cam(model, variables, images, layer="conv_9")
  with pytest.raises(ConfigError, match="nn.Conv"):
    grad_cam(NoConv(), np_init(NoConv(), images), images)


def test_grad_cam_all_zero_map_is_zero_not_nan():
  model, variables, images = _setup()
  params = jax.tree_util.tree_map(lambda a: a, variables["params"])
  params["head"] = {"kernel": jnp.zeros_like(params["head"]["kernel"]),
                    "bias": params["head"]["bias"]}
  heat, _ = grad_cam(model, {"params": params}, images)
  assert np.all(np.asarray(heat) == 0.0)


_MODEL, _VARS, _ = _setup(relu_last=True, batch=2, size=6)
_CAM = jax.jit(lambda v, x, c: grad_cam(_MODEL, v, x, class_index=c)[0])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), c0=st.integers(0, 4), c1=st.integers(0, 4),
       scale=st.floats(1e-3, 1e3))
def test_grad_cam_heatmaps_in_unit_interval(seed, c0, c1, scale):
  rng = np.random.default_rng(seed)
  images = (scale * rng.normal(size=(2, 6, 6, 2))).astype(np.float32)
  variables = jax.tree_util.tree_map(
      lambda a: a * rng.uniform(-2, 2, a.shape).astype(np.float32), _VARS)
  heat = np.asarray(_CAM(variables, images, jnp.array([c0, c1])))
  assert heat.shape == (2, 6, 6)
  assert np.all(np.isfinite(heat)) and heat.min() >= 0.0 and heat.max() <= 1.0


@pytest.mark.parametrize("channel_axis", [True, False])
def test_feature_maps_of_simple_cnn_match_lax_conv(channel_axis):
  model = SimpleCNN(num_outputs=3, features=(4, 8))
  x = np.random.default_rng(1).normal(size=(2, 8, 8, 1)).astype(np.float32)
  inputs = x if channel_axis else x[..., 0]
  variables = np_init(model, inputs, 1)
  maps = conv_feature_maps(model, variables, inputs)
  assert list(maps) == ["conv_0", "conv_1"]
  assert maps["conv_0"].shape == (2, 8, 8, 4) and maps["conv_1"].shape == (2, 4, 4, 8)
  p = variables["params"]

  def lax_conv(inp, name):
    out = jax.lax.conv_general_dilated(jnp.asarray(inp), p[name]["kernel"], (1, 1), "SAME",
                                       dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return np.asarray(out + p[name]["bias"])

  np.testing.assert_allclose(maps["conv_0"], lax_conv(x, "conv_0"), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(maps["conv_0"], np_conv(x, np.asarray(p["conv_0"]["kernel"]),
                                                     p["conv_0"]["bias"]), atol=1e-4)
  pooled = np.maximum(np.asarray(maps["conv_0"]), 0).reshape(2, 4, 2, 4, 2, 4).max(axis=(2, 4))
  np.testing.assert_allclose(maps["conv_1"], lax_conv(pooled, "conv_1"), rtol=1e-5, atol=1e-5)


def test_feature_maps_order_nesting_and_repeated_calls():
  model = Ordered()
  x = np.random.default_rng(2).normal(size=(1, 8, 8, 3)).astype(np.float32)
  variables = np_init(model, x, 2)
  maps = conv_feature_maps(model, variables, x)
  assert list(maps) == ["z_conv", "z_conv:1", "blk/aa_late", "blk/zz", "a_conv"]
  assert maps["z_conv"].shape == (1, 8, 8, 3) and maps["z_conv:1"].shape == (1, 4, 4, 3)
  calls = conv_calls(model, variables, x)  # true call order
  assert [n for n, _ in calls] == ["z_conv", "blk/aa_late", "blk/zz", "a_conv", "z_conv:1"]
  assert all(s.shape == maps[n].shape for n, s in calls)
  heat, _ = grad_cam(model, variables, x)  # default target: the last call, z_conv:1
  assert heat.shape == (1, 8, 8)


def test_feature_maps_with_batch_norm_leave_variables_alone():
  model = SimpleCNN(num_outputs=3, features=(4,), batch_norm=True)
  x = np.ones((2, 4, 4, 1), np.float32)
  variables = np_init(model, x)
  maps = conv_feature_maps(model, variables, x)
  assert list(maps) == ["conv_0"]
  heat, _ = grad_cam(model, variables, x)
  assert heat.shape == (2, 4, 4)


def test_misclassified_order_by_confidence():
  labels = [0, 1, 2, 3, 4, 5]
  preds = [0, 2, 2, 1, 4, 0]
  probs = np.full((6, 6), 0.05)
  probs[1, 2], probs[3, 1], probs[5, 0] = 0.6, 0.9, 0.6
  assert misclassified(labels, preds).tolist() == [1, 3, 5]
  assert misclassified(labels, preds, probs).tolist() == [3, 1, 5]  # ties keep index order
  assert misclassified(labels, preds, probs, max_items=2).tolist() == [3, 1]
  conf = np.array([0.9, 0.2, 0.3, 0.4, 0.5, 0.7])  # (N,) confidence of the prediction
  assert misclassified(labels, preds, conf).tolist() == [5, 3, 1]
  assert misclassified([1, 2], [1, 2]).tolist() == []


def _is_png(path):
  data = path.read_bytes()
  return len(data) > 1000 and data.startswith(PNG)


def test_plots_write_png(tmp_path):
  model, variables, images = _setup()
  maps = conv_feature_maps(model, variables, images)
  paths = plot_feature_maps(maps, images, tmp_path / "fm", index=1, max_channels=3)
  assert [p.name for p in paths] == ["00_conv_0.png", "01_conv_1.png"]
  assert all(_is_png(p) for p in paths)
  heat, logits = grad_cam(model, variables, images)
  out = plot_grad_cam(images, heat, tmp_path / "cam.png", labels=[0, 1, 2],
                      preds=np.argmax(logits, -1))
  assert _is_png(out)
  confusion = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 0]])
  assert _is_png(plot_confusion_matrix(confusion, tmp_path / "cm.png", ["a", "b", "c"]))
  assert _is_png(plot_confusion_matrix(confusion, tmp_path / "cm_raw.png", normalize=False))
  gray = np.random.default_rng(0).uniform(size=(6, 5, 5))
  probs = np.random.default_rng(1).dirichlet(np.ones(3), size=6)
  assert _is_png(plot_error_gallery(gray, [0, 1, 2, 0, 1, 2], [0, 2, 1, 1, 1, 0],
                                    tmp_path / "err.png", probabilities=probs,
                                    class_names=["x", "y", "z"]))
  assert _is_png(plot_error_gallery(images, [0, 1, 2], [0, 1, 2], tmp_path / "none.png"))
