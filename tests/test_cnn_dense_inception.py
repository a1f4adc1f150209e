"""ARC-12 DenseNet (LAY-17, LAY-18) and ARC-10 GoogLeNet (LAY-19, LAY-20): published and hand
parameter counts, Table 1 shapes, block formulas against NumPy, the aux-head sow interface, BN
statistics, bfloat16 and one real SGD step per family."""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.models import MODELS, build_model
from dlcore.models.cnn.densenet import DenseBlock, DenseLayer, DenseNet, Transition
from dlcore.models.cnn.googlenet import (GoogLeNet, Inception, adaptive_avg_pool,
                                         max_pool_ceil)

from cnn_test_utils import EPS, FAST_COMPILE, init_shapes, rbg_key, sgd_losses, tree_size


def _traced_init(model, x, kinds):
  """eval_shape of init_with_output, one trace: (logits, variables, {path: output} of the modules
  of `kinds`)."""
  def run():
    return model.init_with_output({"params": rbg_key(0), "dropout": rbg_key(1)}, x,
                                  capture_intermediates=lambda m, _: isinstance(m, kinds))
  out, variables = jax.eval_shape(run)
  variables = dict(variables)
  flat = jax.tree_util.tree_flatten_with_path(variables.pop("intermediates"))[0]
  return out, variables, {"/".join(str(k.key) for k in p[:-2]): leaf for p, leaf in flat}


def _captured(model, variables, x, kinds, train=False, extra=()):
  """eval_shape of apply: (logits, {path: output} of the modules of `kinds`, other collections)."""
  def run(v):
    mutable = ["intermediates", *extra] + (["batch_stats"] if train else [])
    return model.apply(v, x, train=train, mutable=mutable, rngs={"dropout": rbg_key(1)},
                       capture_intermediates=lambda m, _: isinstance(m, kinds))
  out, cols = jax.eval_shape(run, {k: variables[k] for k in ("params", "batch_stats")})
  flat = jax.tree_util.tree_flatten_with_path(cols.pop("intermediates", {}))[0]
  return out, {"/".join(str(k.key) for k in p[:-2]): leaf for p, leaf in flat}, cols


# --- NumPy references (eval mode at init: BN(z) = z / sqrt(1 + eps)) ---

def np_conv_same(x, k):
  """Stride-1 cross-correlation with zero padding k//2 (NHWC, kernel (kh, kw, C, O))."""
  kh, kw = k.shape[:2]
  xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
  h, w = x.shape[1:3]
  return sum(xp[:, u:u + h, v:v + w, :] @ k[u, v] for u in range(kh) for v in range(kw))


def np_bn_init(z):
  return z / np.sqrt(1.0 + EPS)


def np_relu(z):
  return np.maximum(z, 0.0)


# --- DenseNet ---

def densenet_hand_count(blocks, k, stem="imagenet", classes=1000, bn_size=4, theta=0.5):
  """Hand count: stem, per dense layer BN(2c) + 1x1 (c -> 4k) + BN(2*4k) + 3x3 (4k -> k),
  per transition BN(2c) + 1x1 (c -> floor(theta c)), final BN and the Dense layer."""
  c = 2 * k
  total = 7 * 7 * 3 * c + 2 * c if stem == "imagenet" else 3 * 3 * 3 * c
  for i, n in enumerate(blocks):
    for _ in range(n):
      total += 2 * c + c * bn_size * k + 2 * bn_size * k + 9 * bn_size * k * k
      c += k
    if i < len(blocks) - 1:
      total += 2 * c + c * int(c * theta)
      c = int(c * theta)
  return total + 2 * c + c * classes + classes


def test_densenet169_published_parameter_count():
  shapes = init_shapes(DenseNet(num_outputs=1000, depth=169), jnp.ones((1, 224, 224, 3)))
  assert tree_size(shapes["params"]) == 14_149_480 == densenet_hand_count((6, 12, 32, 32), 32)
  assert shapes["params"]["classifier"]["kernel"].shape == (1664, 1000)
  # DenseNet-201 and -161 (k = 48) are not traced, to keep the file fast: their published counts
  # equal the hand count, which the model meets for 121, 169 and BC-100.
  assert densenet_hand_count((6, 12, 48, 32), 32) == 20_013_928
  assert densenet_hand_count((6, 12, 36, 24), 48) == 28_681_000


def test_densenet_bc_cifar_count_and_shapes():
  model = DenseNet(num_outputs=10, blocks=(16, 16, 16), growth_rate=12, stem="cifar")  # BC-100
  x = jnp.ones((2, 32, 32, 3))
  out, shapes, mods = _traced_init(model, x, (DenseBlock, Transition))
  assert (tree_size(shapes["params"]) == densenet_hand_count((16, 16, 16), 12, "cifar", 10)
          == 769_162)
  assert round(769_162 / 1e5) == 8  # the paper's Table 2: 0.8M for DenseNet-BC (L=100, k=12)
  assert out.shape == (2, 10)
  assert mods["denseblock1"].shape == (2, 32, 32, 24 + 16 * 12)  # 216
  assert mods["transition1"].shape == (2, 16, 16, 108)
  assert mods["transition2"].shape == (2, 8, 8, 150)  # (108 + 192) / 2
  assert mods["denseblock3"].shape == (2, 8, 8, 342)


def test_densenet121_published_count_and_shapes_at_224_and_28x28_bhw():
  model = DenseNet(num_outputs=1000, depth=121)
  x = jnp.ones((2, 224, 224, 3))
  out, shapes, mods = _traced_init(model, x, (DenseBlock, Transition))
  assert tree_size(shapes["params"]) == 7_978_856 == densenet_hand_count((6, 12, 24, 16), 32)
  assert shapes["params"]["classifier"]["kernel"].shape == (1024, 1000)
  assert out.shape == (2, 1000) and out.dtype == jnp.float32
  expected = {"denseblock1": (56, 256), "transition1": (28, 128), "denseblock2": (28, 512),
              "transition2": (14, 256), "denseblock3": (14, 1024), "transition3": (7, 512),
              "denseblock4": (7, 1024)}  # c + n k, then floor(c / 2) and H / 2
  assert {n: (s.shape[1], s.shape[3]) for n, s in mods.items()} == expected
  small = DenseNet(num_outputs=10, blocks=(2, 2, 2), growth_rate=4, stem="cifar")
  gray = jnp.ones((2, 28, 28))
  out, _, mods = _traced_init(small, gray, (Transition,))
  assert out.shape == (2, 10) and mods["transition2"].shape[1:3] == (7, 7)


@settings(max_examples=4, deadline=None)
@given(c0=st.integers(1, 6), layers=st.integers(1, 3), k=st.integers(1, 4), train=st.booleans(),
       seed=st.integers(0, 2**16))
def test_dense_block_concatenates_input_and_new_features(c0, layers, k, train, seed):
  x = np.random.default_rng(seed).standard_normal((2, 4, 4, c0)).astype(np.float32)
  block = DenseBlock(layers, growth_rate=k, bn_size=2)

  def run(x):
    variables = block.init(rbg_key(seed), x)
    return block.apply(variables, x, train=train, mutable=["batch_stats", "intermediates"],
                       capture_intermediates=lambda m, _: isinstance(m, DenseLayer))
  y, cols = jax.jit(run).lower(x).compile(FAST_COMPILE)(x)  # one compile beats eager dispatch
  y = np.asarray(y)
  assert y.shape == (2, 4, 4, c0 + layers * k)
  np.testing.assert_array_equal(y[..., :c0], x)  # x_0 passes through untouched
  for i in range(layers):  # x_l occupies channels [c0 + (l-1) k, c0 + l k)
    new = np.asarray(cols["intermediates"][f"denselayer{i + 1}"]["__call__"][0])
    np.testing.assert_array_equal(y[..., c0 + i * k:c0 + (i + 1) * k], new)


def test_dense_layer_and_transition_match_numpy():
  rng = np.random.default_rng(0)
  x = rng.standard_normal((2, 5, 5, 6)).astype(np.float32)
  layer = DenseLayer(growth_rate=3, bn_size=4)
  v = layer.init(rbg_key(0), x)
  p = v["params"]
  h = np_relu(np_bn_init(x)) @ np.asarray(p["conv1"]["kernel"])[0, 0]
  expected = np_conv_same(np_relu(np_bn_init(h)), np.asarray(p["conv2"]["kernel"]))
  np.testing.assert_allclose(layer.apply(v, x), expected, rtol=1e-4, atol=1e-5)
  trans = Transition(features=3)
  v = trans.init(rbg_key(1), x)
  z = np_relu(np_bn_init(x)) @ np.asarray(v["params"]["conv"]["kernel"])[0, 0]
  pooled = z[:, :4, :4].reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4))  # 2x2/2, 5 -> 2 (floor)
  np.testing.assert_allclose(trans.apply(v, x), pooled, rtol=1e-4, atol=1e-6)


# --- GoogLeNet ---

# Szegedy et al. 2014 Table 1, typed independently of the module: (#1x1, #3x3red, #3x3,
# #5x5red, #5x5, pool proj, output size, output depth).
TABLE1 = {"3a": (64, 96, 128, 16, 32, 32, 28, 256), "3b": (128, 128, 192, 32, 96, 64, 28, 480),
          "4a": (192, 96, 208, 16, 48, 64, 14, 512), "4b": (160, 112, 224, 24, 64, 64, 14, 512),
          "4c": (128, 128, 256, 24, 64, 64, 14, 512), "4d": (112, 144, 288, 32, 64, 64, 14, 528),
          "4e": (256, 160, 320, 32, 128, 128, 14, 832),
          "5a": (256, 160, 320, 32, 128, 128, 7, 832),
          "5b": (384, 192, 384, 48, 128, 128, 7, 1024)}
TORCHVISION_NO_AUX = 6_624_904  # torchvision googlenet (3x3 "5x5" branch), published


def aux_hand_count(c_in, classes=1000):
  return 128 * c_in + 2 * 128 + 2048 * 1024 + 1024 + 1024 * classes + classes


@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("aux", [False, True])
def test_googlenet_parameter_counts(kernel, aux):
  shapes = init_shapes(GoogLeNet(num_outputs=1000, aux_heads=aux, branch5_kernel=kernel),
                       jnp.ones((1, 224, 224, 3)))
  expected = TORCHVISION_NO_AUX + (kernel**2 - 9) * sum(t[3] * t[4] for t in TABLE1.values())
  if aux:  # heads after 4a (512 channels) and 4d (528)
    expected += aux_hand_count(512) + aux_hand_count(528)
  assert tree_size(shapes["params"]) == expected
  assert expected == {(3, False): 6_624_904, (3, True): 13_004_888, (5, False): 7_005_832,
                      (5, True): 13_385_816}[(kernel, aux)]


def test_googlenet_table1_shapes_at_224():
  model = GoogLeNet(num_outputs=1000)
  x = jnp.ones((2, 224, 224, 3))
  out, _, mods = _traced_init(model, x, (Inception,))
  assert out.shape == (2, 1000) and out.dtype == jnp.float32
  assert {n[len("inception"):]: (s.shape[1], s.shape[3]) for n, s in mods.items()} == {
      n: (t[6], t[7]) for n, t in TABLE1.items()}
  for t in TABLE1.values():  # output depth = #1x1 + #3x3 + #5x5 + pool proj
    assert t[7] == t[0] + t[2] + t[4] + t[5]


@pytest.mark.parametrize("kernel", [3, 5])
def test_inception_module_matches_numpy(kernel):
  rng = np.random.default_rng(kernel)
  x = rng.standard_normal((2, 5, 5, 4)).astype(np.float32)
  module = Inception(2, 3, 4, 2, 3, 2, branch5_kernel=kernel)
  v = module.init(rbg_key(0), x)
  k = {n: np.asarray(p["conv"]["kernel"]) for n, p in v["params"].items()}

  def basic(z, name):
    return np_relu(np_bn_init(np_conv_same(z, k[name])))

  xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
  pooled = np.max([xp[:, u:u + 5, v:v + 5] for u in range(3) for v in range(3)], axis=0)
  expected = np.concatenate([basic(x, "branch1"), basic(basic(x, "branch2_reduce"), "branch2"),
                             basic(basic(x, "branch3_reduce"), "branch3"),
                             basic(pooled, "branch4")], axis=-1)
  assert k["branch3"].shape[:2] == (kernel, kernel)
  np.testing.assert_allclose(module.apply(v, x), expected, rtol=1e-4, atol=1e-5)


def np_pool_bins(n, size):
  return [(math.floor(i * n / size), math.ceil((i + 1) * n / size)) for i in range(size)]


@settings(max_examples=10, deadline=None)
@given(h=st.integers(1, 17), w=st.integers(1, 17), seed=st.integers(0, 2**16))
def test_adaptive_avg_pool_matches_pytorch_bins(h, w, seed):
  x = np.random.default_rng(seed).standard_normal((1, h, w, 2)).astype(np.float32)
  expected = np.array([[x[0, a:b, c:d].mean(axis=(0, 1)) for c, d in np_pool_bins(w, 4)]
                       for a, b in np_pool_bins(h, 4)])[None]
  np.testing.assert_allclose(adaptive_avg_pool(jnp.asarray(x), 4), expected, rtol=1e-5,
                             atol=1e-6)


@settings(max_examples=10, deadline=None)
@given(h=st.integers(3, 16), w=st.integers(3, 16), window=st.sampled_from([2, 3]),
       seed=st.integers(0, 2**16))
def test_max_pool_ceil_mode_matches_numpy(h, w, window, seed):
  x = np.random.default_rng(seed).standard_normal((1, h, w, 2)).astype(np.float32)
  oh, ow = (-(-(s - window) // 2) + 1 for s in (h, w))  # ceil((H - k) / 2) + 1
  expected = np.array([[x[0, 2 * i:2 * i + window, 2 * j:2 * j + window].max(axis=(0, 1))
                        for j in range(ow)] for i in range(oh)])[None]
  np.testing.assert_array_equal(max_pool_ceil(jnp.asarray(x), window, 2), expected)


@pytest.mark.parametrize("shape", [(2, 32, 32, 3), (2, 28, 28)], ids=["cifar32", "mnist_bhw"])
def test_googlenet_aux_heads_sown_in_train_and_init_not_in_eval(shape):
  model = GoogLeNet(num_outputs=10, stem="cifar")
  x = jnp.ones(shape)
  init = init_shapes(model, x)
  assert set(init["aux_outputs"]) == {"aux1", "aux2"}  # init creates the heads' params
  assert {"aux1_head", "aux2_head"} <= set(init["params"])
  out, _, cols = _captured(model, init, x, (), train=True, extra=["aux_outputs"])
  assert out.shape == (2, 10)
  for name in ("aux1", "aux2"):
    (logits,) = cols["aux_outputs"][name]
    assert logits.shape == (2, 10) and logits.dtype == jnp.float32
  # Eval: batch_stats are not mutable here, so a BN update would raise; no heads are sown.
  out, _, cols = _captured(model, init, x, (), train=False, extra=["aux_outputs"])
  assert out.shape == (2, 10) and not cols.get("aux_outputs")
  plain = GoogLeNet(num_outputs=10, stem="cifar", aux_heads=False)
  shapes = init_shapes(plain, x, train=True)
  assert "aux_outputs" not in shapes and "aux1_head" not in shapes["params"]


def test_bfloat16_compute_float32_params_and_logits():
  x = jnp.ones((2, 32, 32, 3))
  for model in (GoogLeNet(num_outputs=10, stem="cifar", dtype="bfloat16"),
                DenseNet(num_outputs=10, blocks=(2, 2), growth_rate=4, stem="cifar",
                         dtype="bfloat16")):
    shapes = init_shapes(model, x)
    out, convs, cols = _captured(model, shapes, x, (nn.Conv,), train=True, extra=["aux_outputs"])
    assert out.dtype == jnp.float32
    assert {c.dtype for c in convs.values()} == {jnp.dtype(jnp.bfloat16)}
    assert {a.dtype for a in jax.tree.leaves(cols)} == {jnp.dtype(jnp.float32)}  # stats, aux
    assert {a.dtype for a in jax.tree.leaves(shapes["params"])} == {jnp.dtype(jnp.float32)}


def test_config_errors_and_registry():
  x = jnp.ones((1, 32, 32, 3))
  with pytest.raises(ConfigError, match="depth=100"):
    init_shapes(DenseNet(num_outputs=10, depth=100), x)
  with pytest.raises(ConfigError, match="compression"):
    init_shapes(DenseNet(num_outputs=10, compression=0.0, stem="cifar"), x)
  with pytest.raises(ConfigError, match="branch5_kernel"):
    init_shapes(GoogLeNet(num_outputs=10, branch5_kernel=7), x)
  with pytest.raises(ConfigError, match="stem"):
    init_shapes(GoogLeNet(num_outputs=10, stem="small"), x)
  assert MODELS.get("densenet") is DenseNet and MODELS.get("googlenet") is GoogLeNet
  model = build_model({"name": "densenet", "blocks": [6, 12], "stem": "cifar"}, 10)
  assert model.blocks == (6, 12)


# --- one real jitted SGD step on a repeated CIFAR-shaped batch ---

@pytest.mark.parametrize("model", [
    DenseNet(num_outputs=10, blocks=(2, 2), growth_rate=4, stem="cifar"),
    GoogLeNet(num_outputs=10, stem="cifar", aux_heads=False)], ids=["densenet", "googlenet"])
def test_one_sgd_step_lowers_the_loss(model):
  x = jax.random.normal(rbg_key(3), (2, 32, 32, 3))
  loss0, loss1, params_changed, stats_changed = sgd_losses(model, x, jnp.array([1, 3]))
  assert np.isfinite(loss0) and loss1 < loss0
  assert params_changed and stats_changed
