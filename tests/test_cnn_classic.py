"""LeNet-5 (ARC-7), AlexNet (ARC-8) and VGG (ARC-9): published parameter counts (eval_shape),
output shapes, a NumPy forward pass of LeNet-5, train/eval behaviour, bfloat16, one SGD step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcore.errors import ConfigError
from dlcore.models import MODELS, build_model
from dlcore.models.cnn import VGG, AlexNet, LeNet5
from dlcore.nn import conv_param_count, count_params

from cnn_test_utils import filled_variables, init_shapes, rbg_key

KEY = rbg_key(0)


def _spec(shape):
  return jax.ShapeDtypeStruct(shape, jnp.float32)


def _shape_init(model, shape):
  return init_shapes(model, _spec(shape))


def _logits_shape(model, shape):
  variables = _shape_init(model, shape)
  return jax.eval_shape(model.apply, variables, _spec(shape)).shape


def _filled(model, shape, seed=0):
  """Variables of `model` without running its initialisers (fast on CPU): kernels
  N(0, 2 / fan_in), biases N(0, 0.1^2), BatchNorm scale 1, bias 0, running mean 0, var 1."""
  return filled_variables(model, _spec(shape), seed, bias_std=0.1)


def _x(shape, seed=0):
  return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


# Small instances used for real computation (CPU-friendly).
SMALL = {
    "lenet5": (lambda **kw: LeNet5(10, **kw), (2, 28, 28)),
    "alexnet": (lambda **kw: AlexNet(10, stem="cifar", width=0.125, hidden=32, **kw),
                (2, 32, 32, 3)),
    "vgg": (lambda **kw: VGG(10, depth=11, width=0.125, hidden=32, **kw), (2, 32, 32, 3)),
}


def test_registered_and_built_from_config():
  assert {"lenet5", "alexnet", "vgg"} <= set(MODELS.names())
  model = build_model({"name": "vgg", "depth": 11, "hidden": 512, "batch_norm": True}, 10)
  assert isinstance(model, VGG) and model.num_outputs == 10 and model.hidden == 512
  with pytest.raises(ConfigError, match="depth"):
    build_model({"name": "vgg", "depht": 16}, 10)


# ---------------------------------------------------------------- LeNet-5 (ARC-7)


def test_lenet5_parameter_count_and_layer_shapes():
  variables = _shape_init(LeNet5(10), (1, 32, 32, 1))
  p = variables["params"]
  assert count_params(p) == 61706
  assert LeNet5(10).kernel_init == "lecun_normal" and AlexNet(10).kernel_init == "he_normal"
  assert (p["conv1"]["kernel"].shape, p["conv2"]["kernel"].shape, p["conv3"]["kernel"].shape) \
      == ((5, 5, 1, 6), (5, 5, 6, 16), (5, 5, 16, 120))
  assert p["fc1"]["kernel"].shape == (120, 84) and p["output"]["kernel"].shape == (84, 10)
  assert 156 + 2416 + 48120 + (120 * 84 + 84) + (84 * 10 + 10) == 61706  # the module table


def test_lenet5_shapes_and_padding():
  model = LeNet5(10)
  assert _logits_shape(model, (3, 28, 28)) == (3, 10)
  assert _logits_shape(model, (3, 28, 28, 1)) == (3, 10)
  assert _logits_shape(model, (3, 32, 32, 3)) == (3, 10)
  with pytest.raises(ConfigError, match="pad_to=32"):
    _logits_shape(LeNet5(10, pad_to=0), (1, 28, 28))
  with pytest.raises(ConfigError, match="pooling"):
    LeNet5(10, pooling="median")
  # 28x28 with pad_to=32 == a hand-padded 32x32 image (2 zero pixels each side) without padding
  x = _x((2, 28, 28))
  variables = _filled(model, x.shape)
  padded = jnp.asarray(np.pad(np.asarray(x), ((0, 0), (2, 2), (2, 2))))
  np.testing.assert_allclose(np.asarray(model.apply(variables, x)),
                             np.asarray(LeNet5(10, pad_to=0).apply(variables, padded)),
                             rtol=1e-6, atol=1e-6)


def _np_conv_valid(x, kernel, bias):
  windows = np.lib.stride_tricks.sliding_window_view(x, kernel.shape[:2], axis=(1, 2))
  return np.einsum("nhwcuv,uvco->nhwo", windows, kernel) + bias


def _np_avgpool2(x):
  n, h, w, c = x.shape
  return x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def test_lenet5_forward_matches_numpy():
  model = LeNet5(10)
  x = _x((2, 28, 28), seed=1)
  variables = _filled(model, x.shape, seed=1)  # nonzero biases, unlike the real init
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), variables["params"])
  h = np.pad(np.asarray(x, np.float64), ((0, 0), (2, 2), (2, 2)))[..., None]
  h = _np_avgpool2(np.tanh(_np_conv_valid(h, p["conv1"]["kernel"], p["conv1"]["bias"])))
  h = _np_avgpool2(np.tanh(_np_conv_valid(h, p["conv2"]["kernel"], p["conv2"]["bias"])))
  h = np.tanh(_np_conv_valid(h, p["conv3"]["kernel"], p["conv3"]["bias"])).reshape(2, -1)
  h = np.tanh(h @ p["fc1"]["kernel"] + p["fc1"]["bias"])
  expected = h @ p["output"]["kernel"] + p["output"]["bias"]
  np.testing.assert_allclose(np.asarray(model.apply(variables, x)), expected, rtol=1e-4,
                             atol=1e-4)
  max_model = LeNet5(10, pooling="max")
  assert not np.allclose(np.asarray(max_model.apply(variables, x)), expected, atol=1e-3)


# ---------------------------------------------------------------- AlexNet (ARC-8)

ALEXNET_CONVS = [(11, 3, 96), (5, 96, 256), (3, 256, 384), (3, 384, 384), (3, 384, 256)]


@pytest.mark.parametrize("size", [224, 227])
def test_alexnet_imagenet_parameter_count(size):
  p = _shape_init(AlexNet(1000), (1, size, size, 3))["params"]
  assert count_params(p) == 62378344
  assert p["fc6"]["kernel"].shape == (6 * 6 * 256, 4096)  # the conv stack ends at 6x6x256
  for i, (k, c_in, c_out) in enumerate(ALEXNET_CONVS):
    assert count_params(p[f"conv{i + 1}"]) == conv_param_count(k, k, c_in, c_out)
  assert _logits_shape(AlexNet(1000), (2, size, size, 3)) == (2, 1000)


def test_alexnet_two_tower_groups_count():
  p = _shape_init(AlexNet(1000, groups=2), (1, 224, 224, 3))["params"]
  assert count_params(p) == 60965224  # Caffe's bvlc_alexnet figure
  assert p["conv2"]["kernel"].shape == (5, 5, 48, 256) and p["conv3"]["kernel"].shape[2] == 256
  with pytest.raises(ConfigError, match="groups"):
    AlexNet(10, groups=5)


def test_alexnet_cifar_stem_and_minimum_sizes():
  p = _shape_init(AlexNet(10, stem="cifar", hidden=512), (1, 32, 32, 3))["params"]
  assert p["conv1"]["kernel"].shape == (3, 3, 3, 96)
  assert p["fc6"]["kernel"].shape == (4 * 4 * 256, 512)  # 32 -> 16 -> 8 -> 4
  assert _logits_shape(AlexNet(10, stem="cifar"), (2, 32, 32, 3)) == (2, 10)
  assert _logits_shape(AlexNet(10), (1, 64, 64, 3)) == (1, 10)
  assert _logits_shape(AlexNet(10, stem="cifar"), (1, 8, 8, 3)) == (1, 10)
  with pytest.raises(ConfigError, match="stem='cifar'"):
    _logits_shape(AlexNet(10), (1, 63, 63, 3))
  with pytest.raises(ConfigError, match="at least 8x8"):
    _logits_shape(AlexNet(10, stem="cifar"), (1, 7, 7, 3))
  with pytest.raises(ConfigError, match="stem"):
    AlexNet(10, stem="mnist")
  p = _shape_init(AlexNet(10, stem="cifar", width=0.5), (1, 32, 32, 3))["params"]
  assert [p[f"conv{i}"]["bias"].shape[0] for i in range(1, 6)] == [48, 128, 192, 192, 128]


def test_alexnet_lrn_switch():
  model, shape = SMALL["alexnet"]
  x = _x(shape)
  variables = _filled(model(), shape)
  with_lrn = np.asarray(model().apply(variables, x))
  without = np.asarray(model(lrn=False).apply(variables, x))  # LRN has no parameters
  assert not np.allclose(with_lrn, without, atol=1e-4)


# ---------------------------------------------------------------- VGG (ARC-9)

VGG_TABLE = {  # the paper's Table 1 written out; "M" = max pool
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M"] + [256] * 4 + ["M"] + ([512] * 4 + ["M"]) * 2,
}


def _vgg_hand_count(depth, classes=1000, hidden=4096, size=224, bn=False):
  total, c_in = 0, 3
  for v in VGG_TABLE[depth]:
    if v == "M":
      size //= 2
      continue
    total += 9 * c_in * v + v + (2 * v if bn else 0)
    c_in = v
  return total + (size * size * c_in + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * classes


@pytest.mark.parametrize("depth, batch_norm, published", [
    (11, False, 132863336), (13, False, 133047848), (16, False, 138357544),
    (19, False, 143667240), (16, True, 138365992)])
def test_vgg_imagenet_parameter_counts(depth, batch_norm, published):
  variables = _shape_init(VGG(1000, depth=depth, batch_norm=batch_norm), (1, 224, 224, 3))
  p = variables["params"]
  assert count_params(p) == published == _vgg_hand_count(depth, bn=batch_norm)
  assert p["fc6"]["kernel"].shape == (25088, 4096)  # 7x7x512
  assert sum(name.startswith("conv") for name in p) == depth - 3
  if batch_norm:  # running statistics are state, not parameters
    assert count_params(variables["batch_stats"]) == 138365992 - 138357544  # mean, var: 2 C


def test_vgg_cifar_shapes_and_errors():
  p = _shape_init(VGG(10, hidden=512), (1, 32, 32, 3))["params"]
  assert p["fc6"]["kernel"].shape == (512, 512)  # 1x1x512
  assert count_params(p) == _vgg_hand_count(16, classes=10, hidden=512, size=32)
  assert _logits_shape(VGG(10, hidden=512), (4, 32, 32, 3)) == (4, 10)
  assert _logits_shape(VGG(10, depth=11), (2, 224, 224, 3)) == (2, 10)
  assert _logits_shape(VGG(10, depth=11, width=0.25), (2, 32, 32)) == (2, 10)
  with pytest.raises(ConfigError, match="at least 32x32"):
    _logits_shape(VGG(10), (1, 31, 31, 3))
  with pytest.raises(ConfigError, match="11, 13, 16, 19"):
    VGG(10, depth=18)


# ---------------------------------------------------------------- shared behaviour


@pytest.mark.parametrize("name, init, fc_std", [
    ("lenet5", {"kernel_init": "he_normal", "batch_norm": True},
     lambda fan_in: np.sqrt(2 / fan_in)),  # the AlexNet/VGG default
    ("alexnet", {"kernel_init": "paper"}, lambda fan_in: 0.01)])  # N(0, 0.01^2)
def test_real_init(name, init, fc_std):
  make, shape = SMALL[name]
  model = make(**init)
  variables = jax.jit(model.init)(KEY, _x(shape))
  expected = _shape_init(model, shape)
  assert jax.tree.structure(variables) == jax.tree.structure(expected)
  p = variables["params"]
  kernel = np.asarray(p["fc1" if name == "lenet5" else "fc6"]["kernel"])
  assert abs(kernel.std() / fc_std(kernel.shape[0]) - 1) < 0.1
  paper = init.get("kernel_init") == "paper"
  ones = {"conv2", "conv4", "conv5", "fc6", "fc7"} if paper else set()  # the paper's bias 1
  for layer, leaves in p.items():
    if "bias" in leaves and not layer.startswith("bn"):
      np.testing.assert_array_equal(np.asarray(leaves["bias"]), float(layer in ones))
  if "batch_stats" in variables:
    for stats in variables["batch_stats"].values():
      np.testing.assert_array_equal(np.asarray(stats["mean"]), 0.0)
      np.testing.assert_array_equal(np.asarray(stats["var"]), 1.0)


@pytest.mark.parametrize("name, last_conv", [("lenet5", "conv3"), ("alexnet", "conv5"),
                                              ("vgg", "conv5_2")])
def test_convs_are_named_flax_convs(name, last_conv):
  make, shape = SMALL[name]
  model = make()
  variables = _shape_init(model, shape)
  _, state = jax.eval_shape(lambda v, x: model.apply(v, x, capture_intermediates=True,
                                                     mutable=["intermediates"]), variables,
                            jax.ShapeDtypeStruct(shape, jnp.float32))
  inter = state["intermediates"]
  convs = [k for k in inter if k.startswith("conv")]
  assert convs[-1] == last_conv and len(convs) == {"lenet5": 3, "alexnet": 5, "vgg": 8}[name]


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg"])
def test_dropout_only_in_training(name):
  make, shape = SMALL[name]
  model = make(dropout_rate=0.5)
  x = _x(shape)
  variables = _filled(model, shape)
  eval_a, eval_b = model.apply(variables, x), model.apply(variables, x)
  np.testing.assert_array_equal(np.asarray(eval_a), np.asarray(eval_b))
  train = [model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(s, impl="rbg")})
           for s in (1, 2)]
  assert not np.allclose(np.asarray(train[0]), np.asarray(train[1]))
  no_dropout = make(dropout_rate=0.0).apply(variables, x, train=True)
  np.testing.assert_allclose(np.asarray(no_dropout), np.asarray(eval_a), rtol=1e-6, atol=1e-6)


def test_vgg_batch_norm_statistics_update_only_in_training():
  make, shape = SMALL["vgg"]
  model = make(batch_norm=True, dropout_rate=0.0)
  x = _x(shape)
  variables = _filled(model, shape)

  @jax.jit  # one compilation for all the applies below
  def run(variables, x):
    _, eval_state = model.apply(variables, x, mutable=["batch_stats"])
    train_out, updated = model.apply(variables, x, train=True, capture_intermediates=True,
                                     mutable=["batch_stats", "intermediates"])
    train_one = model.apply(variables, x[:1], train=True, mutable=["batch_stats"])[0]
    return (eval_state, updated, model.apply(variables, x), model.apply(variables, x[:1]),
            train_out, train_one)

  eval_state, updated, eval_pair, eval_one, train_pair, train_one = run(variables, x)
  jax.tree.map(np.testing.assert_array_equal, eval_state["batch_stats"],
               variables["batch_stats"])
  conv_out = np.asarray(updated["intermediates"]["conv1_1"]["__call__"][0])
  stats = updated["batch_stats"]["bn1_1"]
  # momentum 0.9 (PyTorch's 0.1): mu_run = 0.9 * 0 + 0.1 * batch mean over N, H, W
  np.testing.assert_allclose(np.asarray(stats["mean"]), 0.1 * conv_out.mean(axis=(0, 1, 2)),
                             rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(np.asarray(stats["var"]),
                             0.9 + 0.1 * conv_out.var(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)
  # eval normalises with running statistics: an example's logits do not depend on its batch;
  # training normalises with batch statistics: they do
  np.testing.assert_allclose(np.asarray(eval_one), np.asarray(eval_pair[:1]), rtol=1e-5,
                             atol=1e-5)
  assert not np.allclose(np.asarray(train_one), np.asarray(train_pair[:1]), atol=1e-3)


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg"])
def test_bfloat16_compute_float32_logits_and_params(name):
  make, shape = SMALL[name]
  model = make(dtype="bfloat16", **({"batch_norm": True} if name != "alexnet" else {}))
  x = jax.ShapeDtypeStruct(shape, jnp.float32)
  variables = _shape_init(model, shape)
  # parameters and statistics stay float32 (Flax's param_dtype; dlcore BatchNorm)
  assert {a.dtype for a in jax.tree.leaves(variables)} == {jnp.dtype(jnp.float32)}
  for train in (False, True):
    out, state = jax.eval_shape(
        lambda v, x: model.apply(v, x, train=train, rngs={"dropout": KEY},
                                 mutable=["intermediates", "batch_stats"],
                                 capture_intermediates=True), variables, x)
    assert out.dtype == jnp.float32 and out.shape == (2, 10)
    first_conv = "conv1" if name != "vgg" else "conv1_1"
    assert state["intermediates"][first_conv]["__call__"][0].dtype == jnp.bfloat16
    assert {a.dtype for a in jax.tree.leaves(state.get("batch_stats"))} <= {jnp.dtype("float32")}


def test_bfloat16_logits_approximate_float32():
  make, shape = SMALL["lenet5"]
  variables = _filled(make(batch_norm=True), shape)
  x = _x(shape)
  both = jax.jit(lambda v, x: (make(batch_norm=True).apply(v, x),
                               make(batch_norm=True, dtype="bfloat16").apply(v, x)))
  reference, got = map(np.asarray, both(variables, x))
  np.testing.assert_allclose(got, reference, rtol=0.05, atol=0.02 * np.abs(reference).max())


@pytest.mark.parametrize("name, extra", [("lenet5", {"batch_norm": True}), ("alexnet", {}),
                                         ("vgg", {})])
def test_one_jitted_sgd_step_lowers_the_loss(name, extra):
  make, shape = SMALL[name]
  model = make(**extra)
  x, labels = _x(shape, seed=3), jnp.array([1, 7])
  variables = _filled(model, shape)
  params, rest = variables["params"], {k: v for k, v in variables.items() if k != "params"}
  mutable = list(rest) or False

  def loss_fn(params):
    out = model.apply({"params": params, **rest}, x, train=True, rngs={"dropout": KEY},
                      mutable=mutable)
    logits = out[0] if mutable else out
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

  @jax.jit
  def step(params):
    loss, grads = jax.value_and_grad(loss_fn)(params)
    return jax.tree.map(lambda p, g: p - 1e-3 * g, params, grads), loss

  new_params, before = step(params)
  _, after = step(new_params)  # same batch, same dropout mask
  assert np.isfinite(float(before)) and float(after) < float(before)
