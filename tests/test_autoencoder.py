"""The autoencoder family (ARC-29..32, LOSS-16..18): the objectives against NumPy (the Gaussian KL
also against a numeric integral), the reparameterisation gradient, the corruptions, the anomaly
AUC, tiny runs through make_task and the loop, and the latent-size mismatch error."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.errors import ConfigError, DataError
from dlcore.evals.reconstruction import anomaly_report, traversal_codes
from dlcore.losses import (bernoulli_nll, gaussian_kl, kl_sparsity, l1_sparsity, negative_elbo,
                           reconstruction_loss)
from dlcore.models.autoencoder import VAE, reparameterize

RNG = np.random.default_rng(0)


def test_bernoulli_nll_and_elbo_match_numpy():
  logits = RNG.normal(0, 3, (4, 2, 5)).astype(np.float32)
  x = (RNG.random((4, 2, 5)) < 0.5).astype(np.float32)
  p = 1 / (1 + np.exp(-logits.astype(np.float64)))
  want = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(4, -1).sum(1)
  np.testing.assert_allclose(bernoulli_nll(logits, x), want, rtol=1e-5)
  mean, logvar = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
  kl = 0.5 * (mean**2 + np.exp(logvar) - 1 - logvar).sum(1)
  np.testing.assert_allclose(gaussian_kl(mean, logvar), kl, rtol=1e-5)
  np.testing.assert_allclose(negative_elbo(logits, x, mean, logvar, beta=0.5), want + 0.5 * kl,
                             rtol=1e-5)
  with pytest.raises(AssertionError):  # broadcasting (B, D) against (B, 1) is refused
    bernoulli_nll(logits[:, 0], x[:, 0, :1])


@pytest.mark.parametrize("mu,logvar", [(0.0, 0.0), (1.5, -1.0), (-0.7, 1.2)])
def test_gaussian_kl_equals_a_numeric_integral(mu, logvar):
  """KL(q || p) = ∫ q(z) log(q(z)/p(z)) dz on a fine grid, q = N(mu, e^logvar), p = N(0, 1)."""
  s = np.exp(0.5 * logvar)
  z = np.linspace(mu - 12 * s, mu + 12 * s, 200001)
  log_q = -0.5 * ((z - mu) / s)**2 - np.log(s) - 0.5 * np.log(2 * np.pi)
  log_p = -0.5 * z**2 - 0.5 * np.log(2 * np.pi)
  integral = np.trapezoid(np.exp(log_q) * (log_q - log_p), z)
  got = float(gaussian_kl(jnp.array([[mu]]), jnp.array([[logvar]]))[0])
  assert got == pytest.approx(integral, rel=1e-5, abs=1e-7)


def test_sparsity_penalties_match_numpy():
  h = RNG.normal(size=(5, 4)).astype(np.float32)
  np.testing.assert_allclose(l1_sparsity(h), np.abs(h).sum(1), rtol=1e-6)
  codes = RNG.uniform(0.01, 0.99, (6, 4)).astype(np.float32)
  mask = np.array([1, 1, 1, 1, 0, 0], np.float32)  # two padded rows must not count
  rho, rho_hat = 0.1, codes[:4].astype(np.float64).mean(0)
  want = (rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))).sum()
  assert float(kl_sparsity(codes, rho, mask)) == pytest.approx(want, rel=1e-5)
  assert float(kl_sparsity(np.full((3, 4), 0.1, np.float32), 0.1)) == pytest.approx(0, abs=1e-6)
  x, xhat = RNG.random((3, 6)), RNG.random((3, 6))
  np.testing.assert_allclose(reconstruction_loss(xhat, x), ((x - xhat)**2).sum(1), rtol=1e-5)


def test_reparameterisation_gradient_is_the_analytic_one():
  """d/dμ E[z²] = 2μ and d/dlog σ² E[z²] = σ² for z = μ + σ ε (E[z²] = μ² + σ²)."""
  eps_key = jax.random.PRNGKey(1)
  mean, logvar = jnp.array([0.8, -0.3]), jnp.array([0.2, -1.0])

  def objective(m, lv):
    n = (100000, 2)
    z = reparameterize(eps_key, jnp.broadcast_to(m, n), jnp.broadcast_to(lv, n))
    return (z**2).mean(0).sum()

  g_mean, g_logvar = jax.jit(jax.grad(objective, argnums=(0, 1)))(mean, logvar)
  np.testing.assert_allclose(g_mean, 2 * mean, atol=0.02)
  np.testing.assert_allclose(g_logvar, jnp.exp(logvar), atol=0.02)
  model = VAE(num_outputs=6, hidden=(5,), latent=2)
  x = jnp.asarray(RNG.random((3, 6)) < 0.5, jnp.float32)
  params = jax.jit(model.init)({"params": eps_key, "latent": eps_key}, x)["params"]

  def loss(p):
    logits, m, lv = model.apply({"params": p}, x, rngs={"latent": eps_key})
    return negative_elbo(logits, x, m, lv).mean()

  grads = jax.jit(jax.grad(loss))(params)
  for layer in ("latent_mean", "latent_logvar", "encoder"):  # the encoder gets the gradient
    assert all(float(jnp.abs(g).sum()) > 0 for g in jax.tree.leaves(grads[layer])), layer


def test_corruptions_and_binarization():
  from experiments import autoencoder
  binarize, corrupt = autoencoder.binarize, jax.jit(autoencoder.corrupt, static_argnums=(2, 3))
  x = jnp.full((200, 50), 0.5)
  key = jax.random.PRNGKey(0)
  masked = np.asarray(corrupt(key, x, "masking", 0.3))
  assert set(np.unique(masked)) == {0.0, 0.5} and abs((masked == 0).mean() - 0.3) < 0.02
  sp = np.asarray(corrupt(key, x, "salt_pepper", 0.4))
  assert set(np.unique(sp)) == {0.0, 0.5, 1.0} and abs((sp != 0.5).mean() - 0.4) < 0.02
  assert abs((sp == 1).mean() - 0.2) < 0.02
  g = np.asarray(corrupt(key, x, "gaussian", 2.0))
  assert g.min() == 0.0 and g.max() == 1.0 and 0.3 < (g == 1).mean() < 0.5
  img = np.array([[0, 127, 128, 255]], np.uint8)
  np.testing.assert_array_equal(binarize(img, "threshold", 0), [[0, 0, 255, 255]])
  draws = binarize(np.full((100, 100), 64, np.uint8), "bernoulli", 3)
  np.testing.assert_array_equal(draws, binarize(np.full((100, 100), 64, np.uint8), "bernoulli", 3))
  assert abs((draws == 255).mean() - 64 / 255) < 0.02


def test_anomaly_report_and_traversal():
  scores = np.array([0.1, 0.4, 0.35, 0.8, 0.4])
  labels = np.array([0, 7, 1, 7, 2])
  pairs = [(s7, so) for s7 in scores[labels == 7] for so in scores[labels != 7]]
  want = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs])
  r = anomaly_report(scores, labels, 7)
  assert r["roc_auc"] == pytest.approx(want) and r["score_held_out"] == pytest.approx(0.6)
  codes = RNG.normal(size=(500, 3))
  grid = traversal_codes(codes[0], codes, units=2, steps=5)
  assert grid.shape == (2, 5, 3)
  np.testing.assert_allclose(grid[1, :, 1], np.linspace(*np.quantile(codes[:, 1], [.05, .95]),
                                                        5), rtol=1e-5)
  np.testing.assert_allclose(grid[1, :, 0], codes[0, 0], rtol=1e-6)  # other units fixed


def tiny_config(model: str = "autoencoder", **data):
  from configs.defaults import autoencoder
  c = autoencoder.get_config(model)
  c.data = dict(dict(name="synthetic_images", image_shape=(8, 8, 1), num_classes=3,
                     num_train=384, num_test=96, seed=0, normalize="unit", flatten=True,
                     binarize="threshold" if model == "vae" else "none", exclude_digit=-1),
                **data)
  c.model.update(hidden=(32,), latent=4)
  c.train.update(batch_size=32, num_epochs=0, num_steps=120, log_every=40, checkpoint_every=1000)
  c.eval.batch_size = 32
  c.optimizer.learning_rate = 3e-3
  return c


def _train_losses(workdir):
  from dlcore.train.metric_logger import read_metrics
  return [e["loss"] for e in read_metrics(workdir / "metrics.jsonl") if e["split"] == "train"]


def test_denoising_sparse_autoencoder_trains_and_flags_the_held_out_class(tmp_path):
  """Trained without class 2 (the brightest synthetic class), its images reconstruct worst."""
  from dlcore.train import loop
  from experiments import make_task
  c = tiny_config(exclude_digit=2)
  c.noise.update(type="salt_pepper", level=0.1)
  c.sparsity.update(kind="kl", weight=0.1, rho=0.2)
  c.model.code_activation = "sigmoid"
  c.evals.anomaly = dict(type="anomaly", split="test", event="test")
  del c.evals.traversal  # drawn by the VAE test
  _, result = loop.run(make_task(c), tmp_path)
  losses = _train_losses(tmp_path)
  assert losses[-1] < 0.7 * losses[0]
  assert result["test"]["roc_auc"] > 0.9 and result["test"]["penalty"] > 0
  for name in ("reconstructions", "scatter"):
    assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 1000


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
  from dlcore.train import loop
  from experiments import make_task
  workdir = tmp_path_factory.mktemp("vae")
  c = tiny_config("vae")
  del c.evals.reconstructions, c.evals.scatter
  _, result = loop.run(make_task(c), workdir)
  return workdir, result


def test_vae_lowers_the_negative_elbo_and_draws_samples(vae_run):
  workdir, result = vae_run
  losses = _train_losses(workdir)
  assert losses[-1] < 0.7 * losses[0]
  t = result["test"]
  assert t["loss"] == pytest.approx(t["reconstruction"] + t["kl"], rel=1e-4) and t["kl"] > 0
  for name in ("samples", "traversal"):
    assert (workdir / "plots" / f"{name}.png").stat().st_size > 1000


def test_restoring_into_another_latent_size_names_both_sizes(vae_run):
  from dlcore.train import loop
  from experiments import make_task
  workdir, _ = vae_run
  c = tiny_config("vae")
  c.model.latent = 3
  c.train.num_steps = 240
  with pytest.raises(DataError, match=r"latent size 4 .*latent size 3"):
    loop.run(make_task(c), workdir)


def test_config_errors_are_one_sentence():
  from experiments import make_task
  c = tiny_config()
  c.sparsity.kind = "kl"
  with pytest.raises(ConfigError, match="code_activation='sigmoid'"):
    make_task(c)
  c = tiny_config()
  c.evals.samples = dict(type="samples")
  with pytest.raises(ConfigError, match="needs a model with a prior"):
    make_task(c)
  c = tiny_config()
  c.noise.type = "blur"
  with pytest.raises(ConfigError, match="noise.type='blur'; valid"):
    make_task(c)
  c = tiny_config()
  c.evals.anomaly = dict(type="anomaly", split="test")
  with pytest.raises(ConfigError, match="needs data.exclude_digit"):
    make_task(c)


@pytest.mark.parametrize("kind,sizes", [("vae", (784, 500, 20)), ("autoencoder", (784, 256, 32))])
def test_default_sizes_have_the_expected_parameter_count(kind, sizes):
  """The flax example's VAE 784-500-(20, 20)-500-784 and the default AE, by shapes only."""
  from configs.defaults import autoencoder
  from dlcore.models import build_model
  from dlcore.train.summary import count_params
  d, h, z = sizes
  model = build_model(autoencoder.get_config(kind).model, d)
  shapes = jax.eval_shape(lambda: model.init({"params": jax.random.PRNGKey(0),
                                              "latent": jax.random.PRNGKey(1)},
                                             jnp.zeros((1, d))))
  heads = 2 if kind == "vae" else 1  # μ and log σ², or the code
  want = (d * h + h) + heads * (h * z + z) + (z * h + h) + (h * d + d)
  assert count_params(shapes["params"]) == want
