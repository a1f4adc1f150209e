"""dlcore.testing: the gradient checker passes on correct gradients and fails, naming the parameter
path, on wrong ones; the hypothesis strategies draw what they promise; no hypothesis is needed to
import dlcore or to check gradients."""

import os
import pathlib
import subprocess
import sys

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore import losses as L
from dlcore import testing as dt
from dlcore.models import MLP

REPO = pathlib.Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5)).astype(np.float32)
LABELS = np.array([0, 2, 1, 2])


def _init(model, x=X):
  # jit: an eager Flax init dispatches (and compiles) op by op, several times slower here
  return jax.jit(model.init)(jax.random.key(0, impl="rbg"), x)


@jax.custom_vjp
def tanh_wrong_vjp(x):
  """tanh with a backward pass that is off by a factor of 2."""
  return jnp.tanh(x)


tanh_wrong_vjp.defvjp(lambda x: (jnp.tanh(x), x),
                      lambda x, g: (2.0 * g * (1.0 - jnp.tanh(x)**2),))


@jax.custom_vjp
def sin_stopped_vjp(x):
  """sin whose first derivative is right but whose backward pass is not differentiable in x
  (stop_gradient): second derivatives come out as 0 instead of -sin(x)."""
  return jnp.sin(x)


sin_stopped_vjp.defvjp(lambda x: (jnp.sin(x), x),
                       lambda x, g: (g * jax.lax.stop_gradient(jnp.cos(x)),))


@jax.custom_jvp
def exp_wrong_jvp(x):
  return jnp.exp(x)


exp_wrong_jvp.defjvp(lambda primals, tangents: (jnp.exp(primals[0]),
                                                 jnp.exp(primals[0]) * tangents[0] * 1.5))


# ---------------------------------------------------------------- correct gradients pass


@pytest.fixture(scope="module")
def mlp():
  model = MLP(num_outputs=3, features=(5,), activation="tanh", layer_norm=True)
  return model, _init(model)


def test_mlp_gradients_match_finite_differences(mlp):
  model, variables = mlp
  results = dt.check_module_grads(model, variables, X)  # every output, via a random cotangent
  assert len(results) == len(jax.tree.leaves(variables["params"])) == 6
  assert all(r.ok and r.order == 1 and r.mode == "rev" for r in results)
  assert {r.path for r in results} >= {"params['output']['kernel']", "params['ln_0']['scale']"}
  assert all(r.autodiff != 0 for r in results)  # the comparisons are not vacuous
  assert jnp.ones(1).dtype == jnp.float32  # the x64 context is restored


def test_mlp_loss_gradients_wrt_params_and_inputs_in_both_modes(mlp):
  model, variables = mlp
  loss = lambda logits: L.softmax_cross_entropy(logits, LABELS, reduction="mean")
  results = dt.check_module_grads(model, variables, X, loss_fn=loss, wrt_inputs=True,
                                  modes=("rev", "fwd"))
  assert "inputs[0]" in {r.path for r in results}
  assert len(results) == 2 * 7  # (6 parameter arrays + the inputs) x 2 modes


def test_dense_second_order_checks_in_both_modes():
  params = {"kernel": RNG.normal(size=(5, 3)) * 0.5, "bias": RNG.normal(size=3)}  # no init
  loss = lambda logits: L.softmax_cross_entropy(logits, LABELS, reduction="sum")
  results = dt.check_module_grads(nn.Dense(3), {"params": params}, X, loss_fn=loss, order=2,
                                  modes=("rev", "fwd"))
  assert {(r.order, r.mode) for r in results} == {(1, "rev"), (1, "fwd"), (2, "rev"), (2, "fwd")}
  assert len(results) == 4 * 2 and all(r.autodiff != 0 for r in results)


def test_check_grads_on_a_plain_function_with_int_leaves_left_alone():
  def fn(params, batch):
    logits = batch["x"] @ params["w"] + params["b"]
    return L.softmax_cross_entropy(logits, batch["y"], reduction="mean")

  params = {"w": RNG.normal(size=(5, 3)).astype(np.float32), "b": np.zeros(3, np.float32)}
  results = dt.check_grads(fn, (params, {"x": X, "y": LABELS}), argnames=("params", "batch"))
  assert sorted(r.path for r in results) == ["batch['x']", "params['b']", "params['w']"]


# ---------------------------------------------------------------- wrong gradients fail


def test_wrong_custom_vjp_fails_naming_only_the_affected_parameter():
  def fn(params, x):
    return tanh_wrong_vjp(x @ params["a"]).sum() + jnp.sum(params["b"]**2)

  params = {"a": RNG.normal(size=(5, 2)).astype(np.float32) * 0.3, "b": np.ones(3, np.float32)}
  with pytest.raises(AssertionError) as err:
    dt.check_grads(fn, (params, X), argnums=0, argnames=("params", "x"))
  msg = str(err.value)
  assert "params['a']" in msg and "params['b']" not in msg
  assert "1 of 2" in msg and "ratio 2" in msg


class _TwoBranches(nn.Module):
  """good(x) + wrong_vjp(bad(x)): only the 'bad' Dense layer's gradients are wrong."""

  @nn.compact
  def __call__(self, x):
    return nn.Dense(3, name="good")(x) + tanh_wrong_vjp(nn.Dense(3, name="bad")(x))


def test_module_with_a_wrong_vjp_fails_naming_its_parameters():
  model = _TwoBranches()
  variables = _init(model)
  with pytest.raises(AssertionError, match=r"params\['bad'\]\['kernel'\]") as err:
    dt.check_module_grads(model, variables, X)
  msg = str(err.value)
  assert "params['bad']['bias']" in msg and "params['good']" not in msg


def test_second_order_check_catches_a_backward_pass_that_is_only_first_order_right():
  fn = lambda x: jnp.sum(sin_stopped_vjp(x) * x)
  x = RNG.normal(size=(4,)).astype(np.float32)
  dt.check_grads(fn, (x,))  # first derivatives are right
  with pytest.raises(AssertionError, match="order 2, mode 'rev', args\\[0\\]"):
    dt.check_grads(fn, (x,), order=2)


def test_forward_mode_catches_a_wrong_custom_jvp():
  x = RNG.normal(size=(3,)).astype(np.float32)
  with pytest.raises(AssertionError, match="mode 'fwd'.*ratio 1.5"):
    dt.check_grads(lambda v: exp_wrong_jvp(v).sum(), (x,), modes=("fwd",))


def test_float32_mode_still_catches_a_factor_of_two():
  fn = lambda x: tanh_wrong_vjp(x).sum()
  x = RNG.normal(size=(6,)).astype(np.float32)
  dt.check_grads(lambda v: jnp.tanh(v).sum(), (x,), x64=False)
  with pytest.raises(AssertionError, match="input precision"):
    dt.check_grads(fn, (x,), x64=False)


def test_low_precision_compute_under_x64_is_reported_not_silently_checked():
  with pytest.raises(TypeError, match="float32 outputs"):
    dt.check_grads(lambda x: (x.astype(jnp.float32)**2).sum(), (X,))
  with pytest.raises(ValueError, match="no floating-point leaves"):
    dt.check_grads(lambda i: jnp.sum(i), (np.arange(3),))


# ---------------------------------------------------------------- strategies


@settings(max_examples=15, deadline=None)
@given(dt.arrays(dtype=np.float32, min_value=-2.0, max_value=3.0),
       dt.arrays((2, 3), np.int32, min_value=-4, max_value=4),
       dt.arrays(4, jnp.bfloat16, min_value=-1.0, max_value=1.0))
def test_arrays_respect_dtype_shape_and_bounds(a, i, b):
  chex.assert_type([a, i, b], [np.float32, np.int32, jnp.bfloat16])
  chex.assert_rank(a, {1, 2, 3})
  assert a.size == 0 or (a.min() >= -2.0 and a.max() <= 3.0)
  assert np.isfinite(a).all()
  chex.assert_shape([i, b], [(2, 3), (4,)])
  assert np.abs(i).max() <= 4 and np.abs(b.astype(np.float32)).max() <= 1.0


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_shared_shapes_give_equal_shapes(data):
  shape = st.shared(dt.shapes(min_dims=2, max_dims=2, max_side=4), key="pair")
  x, y = data.draw(dt.arrays(shape)), data.draw(dt.arrays(shape, np.float64))
  chex.assert_equal_shape([x, y])
  chex.assert_rank(x, 2)


def _depth(tree):
  if isinstance(tree, (dict, list, tuple)):
    return 1 + max(_depth(c) for c in (tree.values() if isinstance(tree, dict) else tree))
  return 0


@settings(max_examples=25, deadline=None)
@given(dt.pytrees(dt.arrays((2,)), max_depth=2, min_leaves=2, max_leaves=5))
def test_pytrees_respect_depth_and_leaf_count(tree):
  leaves = jax.tree.leaves(tree)
  assert 2 <= len(leaves) <= 5 and 1 <= _depth(tree) <= 2
  chex.assert_shape(leaves, (2,))
  doubled = jax.tree.map(lambda v: v * 2, tree)
  chex.assert_trees_all_equal_structs(doubled, tree)
  chex.assert_trees_all_close(doubled, jax.tree.map(lambda v: v + v, tree))


@settings(max_examples=15, deadline=None)
@given(dt.logits_and_labels(num_classes=(2, 5), batch=3),
       dt.logits_and_labels(num_classes=4, batch=(1, 4), one_hot=True), dt.prng_keys())
def test_logits_and_labels_and_keys(ids_case, onehot_case, key):
  logits, labels = ids_case
  chex.assert_shape(labels, (3,))
  chex.assert_type([logits, labels], [np.float32, np.int32])
  assert ((labels >= 0) & (labels < logits.shape[1])).all()
  logits, onehot = onehot_case
  chex.assert_equal_shape([logits, onehot])
  np.testing.assert_array_equal(onehot.sum(-1), 1.0)
  assert jax.random.normal(key, (2,)).shape == (2,)


def test_without_hypothesis_dlcore_imports_and_check_grads_works():
  code = (
      "import sys; sys.modules['hypothesis'] = None\n"
      "import dlcore, dlcore.losses, dlcore.models, dlcore.testing as dt, jax.numpy as jnp\n"
      "dt.check_grads(lambda x: jnp.sum(jnp.sin(x)), (jnp.ones(3),))\n"
      "try:\n  dt.arrays()\nexcept ImportError as e:\n  print('ImportError:', e)\n")
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=env, cwd=REPO)
  assert out.returncode == 0, out.stderr
  assert "ImportError:" in out.stdout and "dlcore[test]" in out.stdout
