"""DDPM (ARC-34; Ho et al. 2020) and the U-Net (LAY-22, ARC-16): the schedules' ᾱ against
NumPy, q(x_t | x_0) statistics, one ancestral and one DDIM step against the papers' formulas,
the samplers reproducing a Gaussian data distribution from its exact ε-predictor, the U-Net's
shapes, and a tiny end-to-end run of the 'diffusion' family."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.diffusion import (ancestral_step, ddim_step, make_schedule, posterior_mean, q_sample,
                              sample)
from dlcore.diffusion.schedules import epsilon_loss
from dlcore.errors import ConfigError
from dlcore.models import build_model
from dlcore.models.unet import depth_to_space, space_to_depth, timestep_embedding


def test_linear_and_cosine_alpha_bars_match_numpy():
  lin = make_schedule("linear", 1000)
  betas = 1e-4 + (0.02 - 1e-4) * np.arange(1000) / 999
  np.testing.assert_allclose(lin.alpha_bars, np.cumprod(1 - betas), rtol=1e-5)
  cos = make_schedule("cosine", 200)
  f = np.cos((np.arange(201) / 200 + 0.008) / 1.008 * np.pi / 2)**2
  abar = f[1:] / f[0]
  np.testing.assert_allclose(cos.alpha_bars[:-1], abar[:-1], rtol=1e-5, atol=1e-7)
  assert float(cos.betas.max()) == pytest.approx(0.999)  # the clipped last step
  assert np.all(np.diff(np.asarray(lin.alpha_bars)) < 0)
  with pytest.raises(ConfigError, match="diffusion.schedule"):
    make_schedule("sigmoid", 10)


def test_respacing_keeps_alpha_bar_at_the_kept_steps():
  s = make_schedule("linear", 1000)
  r = s.respaced(50)
  assert r.num_steps == 50 and int(r.timesteps[-1]) == 999 and int(r.timesteps[0]) == 0
  np.testing.assert_allclose(r.alpha_bars, np.asarray(s.alpha_bars)[np.asarray(r.timesteps)],
                             rtol=1e-5)
  np.testing.assert_allclose(s.respaced(1000).betas, s.betas, rtol=1e-5)


def test_q_sample_has_the_forward_process_mean_and_variance():
  s = make_schedule("cosine", 100)
  t = jnp.full((20000,), 30)
  x0 = jnp.full((20000, 1), 0.7)
  xt = q_sample(s, x0, t, jax.random.normal(jax.random.key(0), x0.shape))
  abar = float(s.alpha_bars[30])
  assert float(xt.mean()) == pytest.approx(np.sqrt(abar) * 0.7, abs=0.02)
  assert float(xt.var()) == pytest.approx(1 - abar, rel=0.03)


def test_epsilon_loss_is_zero_for_the_true_noise():
  s = make_schedule("linear", 50)
  x0 = jax.random.uniform(jax.random.key(1), (8, 4, 4, 1), minval=-1, maxval=1)
  # ε recovered from x_t exactly: x_t and x_0 known -> ε = (x_t - √ᾱ x_0) / √(1 - ᾱ).
  def oracle(xt, t):
    abar = s.alpha_bars[t][:, None, None, None]
    return (xt - jnp.sqrt(abar) * x0) / jnp.sqrt(1 - abar)
  assert float(epsilon_loss(oracle, s, x0, jax.random.key(2)).max()) < 1e-8
  assert float(epsilon_loss(lambda x, t: 0 * x, s, x0, jax.random.key(2)).mean()) > 0.5


def test_one_ancestral_step_is_the_ddpm_formula():
  s = make_schedule("linear", 100)
  x = jax.random.normal(jax.random.key(3), (4, 5))
  eps_fn = lambda x, t: jnp.tanh(x) * (1 + t[:, None] / 100)
  key = jax.random.key(4)
  for i in (57, 0):
    out = ancestral_step(eps_fn, s, x, jnp.asarray(i), key)
    beta, alpha, abar = (float(a[i]) for a in (s.betas, s.alphas, s.alpha_bars))
    eps = np.asarray(eps_fn(x, jnp.full((4,), i)))
    z = np.asarray(jax.random.normal(key, x.shape)) if i > 0 else 0.0
    expected = (np.asarray(x) - beta / np.sqrt(1 - abar) * eps) / np.sqrt(alpha) + np.sqrt(
        beta) * z
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
  # The x̂_0 form of μ̃ (used with clip_x0) is the same mean when x̂_0 lies inside [-1, 1].
  x0 = jax.random.uniform(jax.random.key(6), (4, 5), minval=-0.5, maxval=0.5)
  eps = jax.random.normal(jax.random.key(7), (4, 5))
  i = 57
  xt = q_sample(s, x0, jnp.full((4,), i), eps)
  paper = (xt - s.betas[i] / jnp.sqrt(1 - s.alpha_bars[i]) * eps) / jnp.sqrt(s.alphas[i])
  np.testing.assert_allclose(posterior_mean(s, xt, eps, jnp.asarray(i), clip_x0=True), paper,
                             rtol=1e-4, atol=1e-5)


def test_one_ddim_step_is_the_ddim_formula():
  """Song et al. eq. 12 in NumPy on a respaced schedule, η = 0 (deterministic) and η = 1."""
  s = make_schedule("linear", 1000).respaced(50)
  x = jax.random.normal(jax.random.key(8), (4, 5))
  eps_fn = lambda x, t: jnp.sin(x) * (1 + t[:, None] / 1000)
  key = jax.random.key(9)
  abars = np.asarray(s.alpha_bars, np.float64)
  for i, eta in ((30, 0.0), (30, 1.0), (0, 0.0)):
    out = ddim_step(eps_fn, s, x, jnp.asarray(i), key, eta)
    eps = np.asarray(eps_fn(x, jnp.full((4,), int(s.timesteps[i]))), np.float64)
    a, a_prev = abars[i], (abars[i - 1] if i > 0 else 1.0)
    x0 = (np.asarray(x) - np.sqrt(1 - a) * eps) / np.sqrt(a)
    sigma = eta * np.sqrt((1 - a_prev) / (1 - a)) * np.sqrt(1 - a / a_prev)
    z = np.asarray(jax.random.normal(key, x.shape))
    expected = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev - sigma**2) * eps + sigma * z
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(ddim_step(eps_fn, s, x, jnp.asarray(0), key), x0, rtol=1e-4,
                             atol=1e-5)  # the last step returns x̂_0


@pytest.mark.parametrize("steps,variance,sampler", [(1000, "beta", "ancestral"),
                                                    (100, "posterior", "ancestral"),
                                                    (50, "beta", "ddim")])
def test_sampling_with_the_exact_epsilon_recovers_gaussian_data(steps, variance, sampler):
  """Data x_0 ~ N(0, s²): E[ε | x_t] = √(1 - ᾱ) x_t / (ᾱ s² + 1 - ᾱ); ancestral sampling with
  it (all 1000 steps, or 100 respaced) and DDIM (η = 0, 50 steps) must give samples of
  standard deviation s."""
  s = make_schedule("linear", 1000)
  sd = 0.5

  def eps_fn(x, t):
    abar = s.alpha_bars[t][:, None]
    return jnp.sqrt(1 - abar) * x / (abar * sd**2 + 1 - abar)

  x0 = jax.jit(lambda k: sample(eps_fn, s.respaced(steps), (4000, 1), k, variance,
                                sampler=sampler))(jax.random.key(5))
  assert float(x0.std()) == pytest.approx(sd, rel=0.08)
  assert abs(float(x0.mean())) < 0.05


def test_unet_shapes_embedding_and_patches():
  x = jnp.arange(2 * 4 * 6 * 3, dtype=jnp.float32).reshape(2, 4, 6, 3)
  y = space_to_depth(x, 2)
  assert y.shape == (2, 2, 3, 12)
  np.testing.assert_array_equal(y[0, 0, 0], np.asarray(x[0, :2, :2]).reshape(-1))
  np.testing.assert_array_equal(depth_to_space(y, 2), x)
  emb = timestep_embedding(jnp.asarray([0, 7]), 8)
  freqs = 10000.0**(-np.arange(4) / 4)
  np.testing.assert_allclose(emb[1], np.r_[np.sin(7 * freqs), np.cos(7 * freqs)], rtol=1e-5)
  for fields in ({"channels": (8, 16, 16)}, {"channels": (8, 16), "patch": 2}):
    unet = build_model({"name": "unet", **fields}, 1)
    shapes = jax.eval_shape(lambda: unet.init(jax.random.key(0), jnp.zeros((2, 28, 28, 1)),
                                              jnp.zeros((2,), jnp.int32)))
    out = jax.eval_shape(lambda v: unet.apply(v, jnp.zeros((3, 28, 28, 1)),
                                              jnp.zeros((3,), jnp.int32)), shapes)
    assert out.shape == (3, 28, 28, 1)
  unet = build_model({"name": "unet", "channels": (8, 16)}, 1)
  v = unet.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)), jnp.zeros((1,), jnp.int32))
  assert float(jnp.abs(unet.apply(v, jnp.ones((1, 8, 8, 1)), jnp.ones((1,)))).max()) == 0.0
  with pytest.raises(ConfigError, match="divisible by 8"):
    build_model({"name": "unet", "channels": (8, 8, 8), "patch": 2}, 1).init(
        jax.random.key(0), jnp.zeros((1, 28, 28, 1)), jnp.zeros((1,)))


def test_tiny_ddpm_run_trains_and_samples(data_dir, tmp_path):
  from configs.defaults import diffusion
  from dlcore.train import loop
  from experiments import make_task
  c = diffusion.get_config()
  c.data.update(data_dir=str(data_dir), num_train=256)
  c.model.update(channels=(8, 16), patch=2)
  c.diffusion.update(schedule="cosine", num_steps=100, sampling_steps=5, clip_x0=True)
  c.train.update(num_steps=12, batch_size=16, log_every=4, progress=False, checkpoint_every=12)
  c.evals.samples.update(every=6, num=16, nrow=4)
  del c.evals["quality"]
  _, result = loop.run(make_task(c), tmp_path)
  assert result["status"] == "finished"
  names = {p.name for p in (tmp_path / "plots").iterdir()}
  assert {"samples_000006.png", "samples_000012.png", "loss.png"} <= names
  import json
  losses = [json.loads(line)["loss"] for line in (tmp_path / "metrics.jsonl").read_text(
  ).splitlines() if '"split": "train"' in line]
  assert losses[-1] < losses[0]  # the ε-MSE falls from ~1 within 12 steps
  c.diffusion.variance = "learned"
  with pytest.raises(ConfigError, match="diffusion.variance"):
    make_task(c)
