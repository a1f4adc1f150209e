"""dlcore.nn.normalization: BatchNorm (LAY-11), LayerNorm (LAY-12), LRN (LAY-13).

Expectations are independent NumPy (float64) formulas, not calls back into dlcore or Flax.
"""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from dlcore.errors import ConfigError
from dlcore.nn.normalization import BatchNorm, LayerNorm, LocalResponseNorm, local_response_norm

EPS = 1e-5


def _np_bn(x, gamma, beta, mean=None, var=None, eps=EPS, axes=None):
  x = x.astype(np.float64)
  axes = tuple(range(x.ndim - 1)) if axes is None else axes
  if mean is None:
    mean = x.mean(axis=axes)
    var = ((x - mean)**2).mean(axis=axes)  # biased
  return gamma * (x - mean) / np.sqrt(var + eps) + beta, mean, var


def _rand(shape, seed=0, loc=0.0, scale=1.0):
  return np.random.default_rng(seed).normal(loc, scale, shape).astype(np.float32)


def _init_bn(model, x):
  variables = model.init(jax.random.key(0), jnp.asarray(x), train=False)
  rng = np.random.default_rng(42)
  c = variables["params"]["scale"].shape
  params = {"scale": jnp.asarray(rng.uniform(0.5, 2.0, c), jnp.float32),
            "bias": jnp.asarray(rng.normal(0, 1, c), jnp.float32)}
  return {"params": params, "batch_stats": variables["batch_stats"]}


# ---------------------------------------------------------------- BatchNorm


@pytest.mark.parametrize("shape", [(32, 6), (4, 5, 5, 3)])
def test_batchnorm_train_output_matches_numpy(shape):
  x = _rand(shape, loc=3.0, scale=2.0)
  model = BatchNorm()
  v = _init_bn(model, x)
  y, upd = model.apply(v, jnp.asarray(x), train=True, mutable=["batch_stats"])
  g, b = np.asarray(v["params"]["scale"]), np.asarray(v["params"]["bias"])
  want, mean, var = _np_bn(x, g, b)
  np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)
  # one step of the EMA from (0, 1) with momentum 0.99
  np.testing.assert_allclose(upd["batch_stats"]["mean"], 0.01 * mean, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(upd["batch_stats"]["var"], 0.99 + 0.01 * var, rtol=1e-5)


def test_batchnorm_variables_match_flax_layout():
  x = _rand((8, 4))
  v = BatchNorm().init(jax.random.key(0), jnp.asarray(x))
  ref = nn.BatchNorm(use_running_average=True).init(jax.random.key(0), jnp.asarray(x))
  assert jax.tree.map(jnp.shape, v) == jax.tree.map(jnp.shape, ref)


@pytest.mark.parametrize("momentum", [0.99, 0.9])
def test_batchnorm_running_stats_after_k_steps_are_numpy_ema(momentum):
  model = BatchNorm(momentum=momentum)
  x0 = _rand((16, 5))
  v = _init_bn(model, x0)
  run_mean, run_var = np.zeros(5), np.ones(5)
  step = jax.jit(lambda v, x: model.apply(v, x, train=True, mutable=["batch_stats"]))
  for k in range(7):
    x = _rand((16, 5), seed=k + 1, loc=k - 2.0, scale=1.0 + k)
    _, upd = step(v, jnp.asarray(x))
    v = {"params": v["params"], "batch_stats": upd["batch_stats"]}
    mean = x.astype(np.float64).mean(0)
    var = ((x - mean)**2).mean(0)
    run_mean = momentum * run_mean + (1 - momentum) * mean
    run_var = momentum * run_var + (1 - momentum) * var
  np.testing.assert_allclose(v["batch_stats"]["mean"], run_mean, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(v["batch_stats"]["var"], run_var, rtol=1e-5, atol=1e-6)


def test_batchnorm_eval_uses_running_stats_not_batch_stats():
  model = BatchNorm()
  x = _rand((32, 4), loc=5.0, scale=3.0)
  v = _init_bn(model, x)
  stats = {"mean": jnp.asarray([1.0, -2.0, 0.5, 3.0]), "var": jnp.asarray([4.0, 0.25, 1.0, 9.0])}
  v = {"params": v["params"], "batch_stats": stats}
  y_eval, upd = model.apply(v, jnp.asarray(x), train=False, mutable=["batch_stats"])
  g, b = np.asarray(v["params"]["scale"]), np.asarray(v["params"]["bias"])
  want, _, _ = _np_bn(x, g, b, np.asarray(stats["mean"]), np.asarray(stats["var"]))
  np.testing.assert_allclose(np.asarray(y_eval), want, rtol=1e-5, atol=1e-5)
  jax.tree.map(np.testing.assert_array_equal, upd["batch_stats"], stats)  # eval never updates
  y_train, _ = model.apply(v, jnp.asarray(x), train=True, mutable=["batch_stats"])
  assert np.abs(np.asarray(y_train) - np.asarray(y_eval)).max() > 0.1


def test_batchnorm_init_does_not_update_running_stats():
  v = BatchNorm().init(jax.random.key(0), jnp.asarray(_rand((8, 3), loc=4.0)), train=True)
  np.testing.assert_array_equal(v["batch_stats"]["mean"], np.zeros(3))
  np.testing.assert_array_equal(v["batch_stats"]["var"], np.ones(3))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(-100, 100), st.floats(1e-2, 1e2))
def test_batchnorm_train_output_is_standardised(seed, loc, scale):
  """Property: with gamma = 1, beta = 0 each feature has mean 0 and variance s2/(s2 + eps)."""
  x = _rand((64, 3), seed=seed, loc=loc, scale=scale)
  model = BatchNorm()
  v = model.init(jax.random.key(0), jnp.asarray(x))
  y, _ = model.apply(v, jnp.asarray(x), train=True, mutable=["batch_stats"])
  y = np.asarray(y, np.float64)
  s2 = x.astype(np.float64).var(0)
  # float32 rounding of the batch mean shifts x_hat by ~eps32 |mu| / sigma
  tol = 4 * np.finfo(np.float32).eps * (abs(loc) / np.sqrt(s2 + EPS) + 1)
  np.testing.assert_allclose(y.mean(0), 0, atol=1e-5 + tol.max())
  np.testing.assert_allclose(y.var(0), s2 / (s2 + EPS), rtol=1e-4 + 2 * tol.max())


def test_batchnorm_rejects_bad_hyperparameters():
  x = jnp.ones((4, 2))
  with pytest.raises(ConfigError, match="momentum"):
    BatchNorm(momentum=1.5).init(jax.random.key(0), x)
  with pytest.raises(ConfigError, match="epsilon"):
    BatchNorm(epsilon=0.0).init(jax.random.key(0), x)


def _mesh8():
  if len(jax.devices()) < 8:
    pytest.skip("needs 8 devices (tests/conftest.py forces 8 fake CPU devices)")
  return Mesh(np.asarray(jax.devices()[:8]), ("data",))


def test_batchnorm_on_8_device_mesh_uses_global_batch_statistics():
  """jit + NamedSharding(P('data')): XLA all-reduces the statistics, so the sharded train step
  equals the 1-device step over the whole batch (each shard alone would differ: checked)."""
  mesh = _mesh8()
  # NHWC with a different mean per shard, so per-shard statistics would be visibly wrong
  x = _rand((16, 3, 3, 4), seed=7) + np.repeat(np.arange(8.0), 2)[:, None, None, None] * 2
  x = x.astype(np.float32)
  model = BatchNorm()
  v = _init_bn(model, x)
  f = lambda v, x: model.apply(v, x, train=True, mutable=["batch_stats"])

  dev0 = jax.devices()[0]
  y1, s1 = jax.jit(f)(jax.device_put(v, dev0), jax.device_put(x, dev0))
  y1 = jax.block_until_ready(y1)

  rep, shard = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
  xs = jax.device_put(x, shard)
  vs = jax.device_put(v, rep)
  y8, s8 = jax.jit(f, in_shardings=(rep, shard), out_shardings=(shard, rep))(vs, xs)
  y8 = jax.block_until_ready(y8)
  s8 = jax.block_until_ready(s8)
  assert len(xs.sharding.device_set) == 8 and len(y8.sharding.device_set) == 8

  np.testing.assert_allclose(np.asarray(y8), np.asarray(y1), rtol=1e-6, atol=1e-6)
  for name in ("mean", "var"):
    np.testing.assert_allclose(np.asarray(s8["batch_stats"][name]),
                               np.asarray(s1["batch_stats"][name]), rtol=1e-6, atol=1e-7)
  g, b = np.asarray(v["params"]["scale"]), np.asarray(v["params"]["bias"])
  want, mean, _ = _np_bn(x, g, b)
  np.testing.assert_allclose(np.asarray(y8), want, rtol=1e-5, atol=1e-5)
  # per-shard statistics would be far off: shard 0 holds only the rows with offset 0
  assert abs(x[:2].mean() - mean.mean()) > 1.0


def test_batchnorm_axis_name_under_shard_map_gives_global_statistics():
  mesh = _mesh8()
  x = (_rand((16, 5), seed=3) + np.repeat(np.arange(8.0), 2)[:, None]).astype(np.float32)
  model = BatchNorm(axis_name="data")
  v = _init_bn(BatchNorm(), x)

  def f(v, x):
    return model.apply(v, x, train=True, mutable=["batch_stats"])

  g = jax.jit(jax.shard_map(f, mesh=mesh, in_specs=(P(), P("data")),
                            out_specs=(P("data"), P())))
  y, s = g(v, jnp.asarray(x))
  y = jax.block_until_ready(y)
  gam, bet = np.asarray(v["params"]["scale"]), np.asarray(v["params"]["bias"])
  want, mean, var = _np_bn(x, gam, bet)
  np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(np.asarray(s["batch_stats"]["mean"]), 0.01 * mean, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(s["batch_stats"]["var"]), 0.99 + 0.01 * var, rtol=1e-5)


# ---------------------------------------------------------------- LayerNorm


@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_layernorm_matches_numpy(eps):
  x = _rand((3, 4, 10), loc=2.0, scale=5.0)
  model = LayerNorm(epsilon=eps)
  v = model.init(jax.random.key(0), jnp.asarray(x))
  rng = np.random.default_rng(1)
  g, b = rng.uniform(0.5, 2, 10).astype(np.float32), rng.normal(0, 1, 10).astype(np.float32)
  y = model.apply({"params": {"scale": g, "bias": b}}, jnp.asarray(x))
  xd = x.astype(np.float64)
  mu = xd.mean(-1, keepdims=True)
  var = ((xd - mu)**2).mean(-1, keepdims=True)
  np.testing.assert_allclose(np.asarray(y), g * (xd - mu) / np.sqrt(var + eps) + b, rtol=1e-5,
                             atol=1e-5)
  assert jax.tree.map(jnp.shape, v) == {"params": {"scale": (10,), "bias": (10,)}}


_LAYER_NORM_APPLY = LayerNorm().apply


class LayerNormPropertyTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @settings(max_examples=12, deadline=None)
  @given(st.integers(0, 2**31 - 1), st.floats(-100, 100), st.floats(1e-1, 1e2))
  def test_layernorm_is_per_example_and_shift_scale_invariant(self, seed, shift, scale):
    x = _rand((4, 16), seed=seed)
    v = {"params": {"scale": jnp.ones(16), "bias": jnp.zeros(16)}}  # LayerNorm's init values
    apply = self.variant(_LAYER_NORM_APPLY)  # one function object: jit compiles it once
    y = apply(v, x)
    chex.assert_shape(y, x.shape)
    chex.assert_type(y, np.float32)
    chex.assert_trees_all_close(y.mean(-1), np.zeros(4), atol=1e-5)
    y2 = apply(v, (x * scale + shift).astype(np.float32))
    # LN(a x + b) = LN(x) * a sqrt(var + eps) / sqrt(a^2 var + eps), var per example
    var = x.astype(np.float64).var(-1, keepdims=True)
    factor = scale * np.sqrt(var + 1e-5) / np.sqrt(scale**2 * var + 1e-5)
    chex.assert_trees_all_close(y2, np.asarray(y) * factor, rtol=0,
                                atol=1e-5 + 1e-6 * (1 + abs(shift) / scale))


# ---------------------------------------------------------------- LRN


def _np_lrn(a, n=5, k=2.0, alpha=1e-4, beta=0.75, alpha_over_n=False):
  a = a.astype(np.float64)
  c = a.shape[-1]
  out = np.empty_like(a)
  al = alpha / n if alpha_over_n else alpha
  for i in range(c):
    lo, hi = max(0, i - n // 2), min(c - 1, i + (n - 1) // 2)
    s = (a[..., lo:hi + 1]**2).sum(-1)
    out[..., i] = a[..., i] / (k + al * s)**beta
  return out


@pytest.mark.parametrize("kw", [
    {},
    {"alpha_over_n": True},
    {"n": 3, "k": 1.0, "alpha": 0.5, "beta": 0.5},
    {"n": 4, "alpha": 0.1},
    {"n": 1, "alpha": 1.0},
])
def test_lrn_matches_numpy_loop(kw):
  a = _rand((2, 3, 3, 7), scale=10.0)
  n = kw.pop("n", 5)
  got = LocalResponseNorm(depth=n, **kw).apply({}, jnp.asarray(a))
  np.testing.assert_allclose(np.asarray(got), _np_lrn(a, n=n, **kw), rtol=1e-5, atol=1e-6)


def test_lrn_paper_defaults_and_channel_axis():
  m = LocalResponseNorm()
  assert (m.depth, m.k, m.alpha, m.beta, m.alpha_over_n) == (5, 2.0, 1e-4, 0.75, False)
  a = _rand((2, 6, 4, 4), scale=30.0)  # NCHW
  got = local_response_norm(jnp.asarray(a), axis=1)
  want = np.moveaxis(_np_lrn(np.moveaxis(a, 1, -1)), -1, 1)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)
