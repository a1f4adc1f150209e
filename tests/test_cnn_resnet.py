"""ARC-11 ResNet / CifarResNet, LAY-16 residual blocks: published parameter counts, shapes, the
zero-init residual property against NumPy, BN statistics, bfloat16 and one real SGD step."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.models import MODELS, build_model
from dlcore.models.cnn.resnet import BasicBlock, Bottleneck, CifarResNet, ResNet, shortcut_a

from cnn_test_utils import EPS, FAST_COMPILE, init_shapes, rbg_key, sgd_losses, tree_size


def _conv_outputs(model, variables, x, train=False):
  """{path: ShapeDtypeStruct} of every nn.Conv output (eval_shape, no compute)."""
  def run(v):
    mutable = ["intermediates"] + (["batch_stats"] if train else [])
    return model.apply(v, x, train=train, mutable=mutable, rngs={"dropout": rbg_key(1)},
                       capture_intermediates=lambda m, _: isinstance(m, nn.Conv))
  out, cols = jax.eval_shape(run, variables)
  flat = jax.tree_util.tree_flatten_with_path(cols["intermediates"])[0]
  convs = {"/".join(str(k.key) for k in path[:-2]): leaf for path, leaf in flat}
  return out, convs


# --- parameter counts and shapes (eval_shape: no 100M-parameter init) ---

@pytest.mark.parametrize("depth,published", [(18, 11_689_512), (34, 21_797_672),
                                             (50, 25_557_032), (101, 44_549_160),
                                             (152, 60_192_808)])
def test_resnet_published_imagenet_parameter_counts(depth, published):
  shapes = init_shapes(ResNet(num_outputs=1000, depth=depth), jnp.ones((1, 224, 224, 3)))
  assert tree_size(shapes["params"]) == published
  assert tree_size(shapes["batch_stats"]) > 0  # BN statistics exist but are not parameters


def cifar_resnet_hand_count(n, classes=10, shortcut="A"):
  """He et al. 2015 §4.2, counted by hand: conv3x3 (no bias) + BN(2c) per layer, FC."""
  total = 3 * 3 * 3 * 16 + 2 * 16  # stem
  c_in = 16
  for c in (16, 32, 64):
    for _ in range(n):
      total += 9 * c_in * c + 2 * c + 9 * c * c + 2 * c
      if c_in != c and shortcut == "B":
        total += c_in * c + 2 * c  # 1x1 projection + BN
      c_in = c
  return total + 64 * classes + classes


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_cifar_resnet_counts_match_hand_count(depth):
  n = (depth - 2) // 6
  for shortcut in ("A", "B"):
    shapes = init_shapes(CifarResNet(num_outputs=10, depth=depth, shortcut=shortcut),
                         jnp.ones((1, 32, 32, 3)))
    assert tree_size(shapes["params"]) == cifar_resnet_hand_count(n, shortcut=shortcut)
  assert cifar_resnet_hand_count(3) == 269_722  # ResNet-20 (paper: 0.27M)
  assert cifar_resnet_hand_count(9) == 853_018  # ResNet-56 (paper: 0.85M)


def test_resnet_shapes_at_224_and_conv_names():
  x = jnp.ones((2, 224, 224, 3))
  model = ResNet(num_outputs=1000, depth=50)
  out, convs = _conv_outputs(model, init_shapes(model, x), x)
  assert out.shape == (2, 1000) and out.dtype == jnp.float32
  assert convs["conv1"].shape == (2, 112, 112, 64)
  assert convs["layer1_block0/conv3"].shape == (2, 56, 56, 256)  # after the 3x3/2 max-pool
  assert convs["layer2_block0/conv2"].shape == (2, 28, 28, 128)  # v1.5: stride on the 3x3
  assert convs["layer2_block0/conv1"].shape == (2, 56, 56, 128)
  assert convs["layer2_block0/shortcut/downsample_conv"].shape == (2, 28, 28, 512)
  assert convs["layer4_block2/conv3"].shape == (2, 7, 7, 2048)
  assert "layer1_block1/shortcut/downsample_conv" not in convs  # identity when shape is kept


def test_cifar_stems_keep_resolution_and_accept_bhw():
  x = jnp.ones((2, 32, 32, 3))
  model = ResNet(num_outputs=10, depth=18, stem="cifar")
  out, convs = _conv_outputs(model, init_shapes(model, x), x)
  assert out.shape == (2, 10)
  assert convs["conv1"].shape == (2, 32, 32, 64)
  assert convs["layer4_block1/conv2"].shape == (2, 4, 4, 512)
  gray = jnp.ones((2, 28, 28))  # (B, H, W) gets a channel axis
  model = CifarResNet(num_outputs=10, depth=20)
  out, convs = _conv_outputs(model, init_shapes(model, gray), gray)
  assert out.shape == (2, 10)
  assert convs["conv1"].shape == (2, 28, 28, 16)
  assert convs["layer3_block2/conv2"].shape == (2, 7, 7, 64)


# --- LAY-16 block properties against NumPy ---

def test_option_a_shortcut_matches_numpy():
  x = np.random.default_rng(0).standard_normal((2, 5, 5, 16)).astype(np.float32)
  y = np.asarray(shortcut_a(jnp.asarray(x), 32, 2))
  expected = np.zeros((2, 3, 3, 32), np.float32)
  expected[..., 8:24] = x[:, ::2, ::2, :]
  np.testing.assert_array_equal(y, expected)


@settings(max_examples=8, deadline=None)
@given(bottleneck=st.booleans(), stride=st.sampled_from([1, 2]), c_in=st.sampled_from([4, 8, 16]),
       features=st.sampled_from([4, 8]), option=st.sampled_from(["A", "B"]), train=st.booleans(),
       size=st.integers(3, 7), seed=st.integers(0, 2**16))
def test_zero_init_residual_block_is_relu_of_shortcut(bottleneck, stride, c_in, features, option,
                                                      train, size, seed):
  cls = Bottleneck if bottleneck else BasicBlock
  c_out = features * cls.expansion
  assume(not (option == "A" and (bottleneck or c_out < c_in)))
  x = np.random.default_rng(seed).standard_normal((2, size, size, c_in)).astype(np.float32)
  block = cls(features, strides=stride, shortcut=option, zero_init_residual=True)

  def run(x):
    variables = block.init(rbg_key(seed), x)
    return variables["params"], block.apply(variables, x, train=train, mutable=["batch_stats"])[0]
  params, y = jax.jit(run).lower(x).compile(FAST_COMPILE)(x)  # one compile beats eager dispatch
  last = "bn3" if bottleneck else "bn2"
  np.testing.assert_array_equal(params[last]["scale"], 0.0)
  np.testing.assert_array_equal(params["bn1"]["scale"], 1.0)
  sub = x[:, ::stride, ::stride, :]
  if stride == 1 and c_in == c_out:
    s = x
  elif option == "A":
    extra = c_out - c_in
    s = np.pad(sub, ((0, 0), (0, 0), (0, 0), (extra // 2, extra - extra // 2)))
  else:  # projection: 1x1 conv with stride s, then BN (batch or initial running statistics)
    z = sub @ np.asarray(params["shortcut"]["downsample_conv"]["kernel"])[0, 0]
    mean, var = (z.mean(axis=(0, 1, 2)), z.var(axis=(0, 1, 2))) if train else (0.0, 1.0)
    s = (z - mean) / np.sqrt(var + EPS)
  if s is x or option == "A":
    np.testing.assert_array_equal(np.asarray(y), np.maximum(s, 0))  # exactly relu(x)
  else:
    np.testing.assert_allclose(np.asarray(y), np.maximum(s, 0), rtol=1e-4, atol=1e-5)


def test_without_zero_init_the_block_is_not_the_shortcut():
  x = np.random.default_rng(1).standard_normal((2, 4, 4, 8)).astype(np.float32)
  block = BasicBlock(8)
  y = block.apply(block.init(rbg_key(0), x), x)
  assert np.abs(np.asarray(y) - np.maximum(x, 0)).max() > 0.1


# --- BatchNorm statistics, bfloat16, config errors ---

@pytest.fixture(scope="module")
def tiny():
  """A CifarResNet-8 (width 4) with its real init, and a 32x32 batch of 2."""
  model = CifarResNet(num_outputs=10, depth=8, width=4)
  x = jax.random.normal(rbg_key(2), (2, 32, 32, 3))
  init = jax.jit(lambda k: model.init({"params": k}, x)).lower(rbg_key(0)).compile(FAST_COMPILE)
  return model, init(rbg_key(0)), x


def test_batch_stats_update_only_in_train_with_momentum_0_9(tiny):
  model, variables, x = tiny
  np.testing.assert_array_equal(variables["batch_stats"]["bn1"]["mean"], 0.0)
  np.testing.assert_array_equal(variables["batch_stats"]["bn1"]["var"], 1.0)
  _, cols = jax.jit(lambda v: model.apply(
      v, x, train=True, mutable=["batch_stats", "intermediates"],
      capture_intermediates=lambda m, _: isinstance(m, nn.Conv)))(variables)
  z = np.asarray(cols["intermediates"]["conv1"]["__call__"][0])  # the stem BN's input
  new = cols["batch_stats"]["bn1"]
  np.testing.assert_allclose(new["mean"], 0.1 * z.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(new["var"], 0.9 + 0.1 * z.var(axis=(0, 1, 2)), rtol=1e-4)
  _, same = jax.jit(lambda v: model.apply(v, x, train=False, mutable=["batch_stats"]))(variables)
  for a, b in zip(jax.tree.leaves(same), jax.tree.leaves(variables["batch_stats"])):
    np.testing.assert_array_equal(a, b)


def test_bfloat16_compute_float32_params_stats_and_logits(tiny):
  model, variables, x = tiny
  bf16 = CifarResNet(num_outputs=10, depth=8, width=4, dtype="bfloat16")
  out, convs = _conv_outputs(bf16, variables, x, train=True)
  assert out.dtype == jnp.float32
  assert {c.dtype for c in convs.values()} == {jnp.dtype(jnp.bfloat16)}
  shapes = init_shapes(bf16, x)
  assert {a.dtype for a in jax.tree.leaves(shapes)} == {jnp.dtype(jnp.float32)}
  both = jax.jit(lambda v: (model.apply(v, x), bf16.apply(v, x)))(variables)
  assert both[1].dtype == jnp.float32
  np.testing.assert_allclose(both[1], both[0], rtol=0.1, atol=0.1)


def test_config_errors_and_registry():
  x = jnp.ones((1, 32, 32, 3))
  with pytest.raises(ConfigError, match="depth=19"):
    init_shapes(ResNet(num_outputs=10, depth=19), x)
  with pytest.raises(ConfigError, match="6n\\+2"):
    init_shapes(CifarResNet(num_outputs=10, depth=21), x)
  with pytest.raises(ConfigError, match="shortcut"):
    init_shapes(CifarResNet(num_outputs=10, shortcut="C"), x)
  with pytest.raises(ConfigError, match="stem"):
    init_shapes(ResNet(num_outputs=10, depth=18, stem="tiny"), x)
  assert MODELS.get("resnet") is ResNet and MODELS.get("cifar_resnet") is CifarResNet
  model = build_model({"name": "resnet", "depth": 34, "stem": "cifar", "width": 8}, 10)
  assert (model.depth, model.stem, model.width, model.num_outputs) == (34, "cifar", 8, 10)


# --- one real jitted SGD step on a repeated CIFAR-shaped batch ---

@pytest.mark.parametrize("model", [CifarResNet(num_outputs=10, depth=8, width=4),
                                   ResNet(num_outputs=10, depth=18, width=4, stem="cifar")],
                         ids=["cifar_resnet8", "resnet18_cifar_stem"])
def test_one_sgd_step_lowers_the_loss(model):
  x = jax.random.normal(rbg_key(3), (2, 32, 32, 3))
  loss0, loss1, all_changed, _ = sgd_losses(model, x, jnp.array([1, 3]))
  assert np.isfinite(loss0) and loss1 < loss0
  assert all_changed  # every conv, BN and the FC receive a gradient
