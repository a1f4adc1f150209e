"""MAML (ARC-49): the inner loop's second-order meta-gradient against the explicit formula on a
quadratic and a finite difference on a small network, the first-order variant, the sinusoid
tasks, and a tiny run of the 'meta' family through the loop."""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.optim.inner_loop import sgd_adapt, sgd_curve

A, B, C, D, LR = 3.0, 1.5, 2.0, -0.5, 0.1


def _meta_loss(first_order: bool, steps: int = 1):
  """L_query(θ') with θ' from `steps` SGD steps on L_support(θ) = ½Aθ² − Bθ, L_query = ½C(θ−D)²."""
  support = lambda t: 0.5 * A * t ** 2 - B * t
  return lambda t: 0.5 * C * (sgd_adapt(support, t, LR, steps, first_order) - D) ** 2


def test_second_order_gradient_matches_the_explicit_formula():
  theta = 0.7
  adapted = theta - LR * (A * theta - B)
  grad = jax.grad(_meta_loss(False))(theta)
  np.testing.assert_allclose(grad, C * (adapted - D) * (1 - LR * A), rtol=1e-6)
  # two steps: θ'' = (1 − αA)²θ + ..., d θ''/dθ = (1 − αA)²
  twice = (1 - LR * A) * adapted + LR * B
  np.testing.assert_allclose(jax.grad(_meta_loss(False, 2))(theta),
                             C * (twice - D) * (1 - LR * A) ** 2, rtol=1e-6)


def test_first_order_drops_the_hessian_term():
  theta = 0.7
  adapted = theta - LR * (A * theta - B)
  first = jax.grad(_meta_loss(True))(theta)
  np.testing.assert_allclose(first, C * (adapted - D), rtol=1e-6)
  second = jax.grad(_meta_loss(False))(theta)
  np.testing.assert_allclose(second / first, 1 - LR * A, rtol=1e-6)  # differs by (I − α∇²L)


def test_second_order_gradient_of_a_network_matches_finite_differences():
  from dlcore.models import MLP
  model = MLP(num_outputs=1, features=(8,), activation="tanh")
  x = jnp.linspace(-2, 2, 12)[:, None]
  y = jnp.sin(x)
  params = model.init(jax.random.PRNGKey(0), x)["params"]
  mse = lambda p, xs, ys: jnp.mean((model.apply({"params": p}, xs) - ys) ** 2)

  @functools.partial(jax.jit, static_argnums=1)
  def meta(p, first_order=False):
    adapted = sgd_adapt(lambda q: mse(q, x[::2], y[::2]), p, 0.3, 2, first_order)
    return mse(adapted, x[1::2], y[1::2])

  grad = jax.jit(jax.grad(meta))(params)
  direction = jax.tree.map(lambda g: jax.random.normal(jax.random.PRNGKey(1), g.shape), grad)
  eps = 1e-2
  shift = lambda s: jax.tree.map(lambda p, d: p + s * d, params, direction)
  numeric = (meta(shift(eps)) - meta(shift(-eps))) / (2 * eps)
  analytic = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grad),
                                                 jax.tree.leaves(direction)))
  np.testing.assert_allclose(analytic, numeric, rtol=2e-2)
  first = jax.jit(jax.grad(lambda p: meta(p, True)))(params)
  gap = sum(jnp.abs(a - b).sum() for a, b in zip(jax.tree.leaves(grad), jax.tree.leaves(first)))
  assert gap > 1e-3  # the first-order gradient is another vector


def test_sgd_curve_records_every_step():
  loss = lambda t: (t - 2.0) ** 2
  curve = sgd_curve(loss, loss, jnp.float32(0.0), 0.25, 3)
  thetas = [0.0, 1.0, 1.5, 1.75]  # t ← t − 0.25·2(t − 2)
  np.testing.assert_allclose(curve, [(t - 2) ** 2 for t in thetas], rtol=1e-6)


def test_sinusoid_tasks_follow_finn_et_al():
  from dlcore.data.sinusoid import sample_points, sample_tasks
  amplitude, phase = sample_tasks(jax.random.PRNGKey(0), 2000)
  x, y = sample_points(jax.random.PRNGKey(1), amplitude, phase, 5)
  assert 0.1 <= amplitude.min() and amplitude.max() <= 5.0 and 2.3 < amplitude.mean() < 2.8
  assert 0.0 <= phase.min() and phase.max() <= np.pi
  assert -5 <= x.min() and x.max() <= 5 and x.shape == (2000, 5, 1)
  np.testing.assert_allclose(y, amplitude[:, None, None] * np.sin(x - phase[:, None, None]),
                             rtol=1e-5, atol=1e-5)


def test_tiny_maml_run_writes_the_adaptation_curve(tmp_path):
  from configs.defaults import meta
  from dlcore.train import loop
  from experiments import make_task
  c = meta.get_config()
  c.meta.update(tasks_per_step=5, first_order=False)
  c.train.update(num_steps=30, log_every=10)
  c.evals.test.update(num_tasks=20, query=20, steps=3, lr=(0.001, 0.01))
  _, result = loop.run(make_task(c), tmp_path / "run")
  curve = [result["test"][f"mse_{s}"] for s in range(4)]
  assert np.all(np.isfinite(curve)) and result["test"]["lr"] in (0.001, 0.01)
  saved = json.loads((tmp_path / "run" / "adaptation.json").read_text())
  np.testing.assert_allclose(saved["mse"], curve, rtol=1e-6)
  assert (tmp_path / "run" / "plots" / "test.png").stat().st_size > 1000
