"""GAN (ARC-33, LOSS-15) and the sample-quality figures: the losses and FID / Inception-style
score / confident share against NumPy, a two-part step with its own optimizer per part, the
DCGAN shapes, and a tiny DCGAN run through the loop with its evaluators."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg

from dlcore.errors import ConfigError
from dlcore.losses.gan import gan_discriminator_loss, gan_generator_loss
from dlcore.metrics.frechet import (confident_share, feature_frechet_distance, frechet_distance,
                                    inception_score)
from dlcore.metrics import Average
from dlcore.models import build_model
from dlcore.train.state import Part, TrainState
from dlcore.train.step import make_train_step

RNG = np.random.default_rng(0)
sig = lambda x: 1 / (1 + np.exp(-x))


def test_gan_losses_are_the_minimax_objective_and_its_non_saturating_form():
  r, f = RNG.normal(size=7), RNG.normal(size=7)
  np.testing.assert_allclose(gan_discriminator_loss(jnp.asarray(r), jnp.asarray(f)),
                             -(np.log(sig(r)) + np.log(1 - sig(f))), rtol=1e-5)
  np.testing.assert_allclose(gan_generator_loss(jnp.asarray(f), non_saturating=False),
                             np.log(1 - sig(f)), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(gan_generator_loss(jnp.asarray(f)), -np.log(sig(f)), rtol=1e-5)
  # At the equilibrium D = 1/2 everywhere: the discriminator's loss is 2 log 2.
  np.testing.assert_allclose(gan_discriminator_loss(jnp.zeros(3), jnp.zeros(3)),
                             2 * np.log(2), rtol=1e-6)
  # The minimax generator loss saturates where D rejects the fakes (logit -> -inf); the
  # non-saturating one keeps a gradient of -(1 - D) ~ -1 there.
  grad = lambda ns: jax.grad(lambda x: gan_generator_loss(x[None], non_saturating=ns)[0])(-8.0)
  assert abs(float(grad(False))) < 1e-3 < 0.99 < abs(float(grad(True)))


def test_frechet_distance_closed_form_for_diagonal_covariances_and_scipy_sqrtm():
  mu1, mu2 = RNG.normal(size=5), RNG.normal(size=5)
  v1, v2 = RNG.uniform(0.1, 2, 5), RNG.uniform(0.1, 2, 5)
  expected = ((mu1 - mu2)**2).sum() + ((np.sqrt(v1) - np.sqrt(v2))**2).sum()
  np.testing.assert_allclose(frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)), expected,
                             rtol=1e-10)
  a, b = RNG.normal(size=(6, 6)), RNG.normal(size=(6, 6))
  s1, s2, m1, m2 = a @ a.T + 0.1 * np.eye(6), b @ b.T, RNG.normal(size=6), RNG.normal(size=6)
  reference = ((m1 - m2)**2).sum() + np.trace(s1 + s2) - 2 * np.trace(
      scipy.linalg.sqrtm(s1 @ s2)).real
  np.testing.assert_allclose(frechet_distance(m1, s1, m2, s2), reference, rtol=1e-6)
  x = RNG.normal(size=(500, 4))
  assert feature_frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
  assert feature_frechet_distance(x, x + 1.0) == pytest.approx(4.0, rel=1e-9)


def test_inception_score_and_confident_share_match_numpy():
  logits = RNG.normal(size=(50, 10)) * 3
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  marginal = p.mean(0)
  kl = [sum(p[i, k] * np.log(p[i, k] / marginal[k]) for k in range(10)) for i in range(50)]
  assert inception_score(p) == pytest.approx(np.exp(np.mean(kl)), rel=1e-9)
  assert inception_score(np.eye(10)[np.arange(40) % 10]) == pytest.approx(10.0, rel=1e-6)
  assert inception_score(np.tile(p[:1], (20, 1))) == pytest.approx(1.0, rel=1e-9)
  assert confident_share(p) == pytest.approx(np.mean([row.max() > 0.9 for row in p]))


def test_a_two_part_step_updates_each_part_with_its_own_optimizer_in_order():
  """'a' by SGD 0.1 on (a - 3)², then 'b' by SGD 0.5 on (b - a)² with the NEW a."""
  def loss_a(params, state, batch, rngs):
    loss = (params - 3.0)**2
    return loss, {"metrics": {"loss": Average(loss, jnp.ones(()))}}

  def loss_b(params, state, batch, rngs):
    loss = (params - state.part("a").params)**2
    return loss, {"metrics": {"loss": Average(loss, jnp.ones(()))}}

  parts = {"a": Part.create(jnp.asarray(1.0), optax.sgd(0.1)),
           "b": Part.create(jnp.asarray(0.0), optax.sgd(0.5))}
  state = TrainState.create(rng=jax.random.key(0), parts=parts)
  new, metrics = jax.jit(make_train_step({"a": loss_a, "b": loss_b}))(state, None)
  a = 1.0 - 0.1 * 2 * (1.0 - 3.0)  # 1.4
  b = 0.0 - 0.5 * 2 * (0.0 - a)  # = a: lr 0.5 on (b - a)² jumps to the new a
  assert float(new.part("a").params) == pytest.approx(a)
  assert float(new.part("b").params) == pytest.approx(b)
  assert set(metrics.unpack()) >= {"a/loss", "b/loss", "a/grad_norm", "b/grad_norm"}


def test_dcgan_shapes_and_ranges():
  gen = build_model({"name": "dcgan_generator", "latent_dim": 16, "features": 8}, 1)
  disc = build_model({"name": "dcgan_discriminator", "features": 8}, 1)
  g_vars = gen.init(jax.random.key(0), jnp.zeros((3, 16)))
  images = gen.apply(g_vars, jax.random.normal(jax.random.key(1), (3, 16)))
  assert images.shape == (3, 28, 28, 1) and float(jnp.abs(images).max()) <= 1.0
  assert "batch_stats" in g_vars
  full = jax.eval_shape(lambda: disc.init(jax.random.key(0), jnp.zeros((2, 28, 28, 1))))
  assert disc.apply(disc.init(jax.random.key(0), images), images).shape == (3, 1)
  assert full["params"]["logit"]["kernel"].shape == (7 * 7 * 16, 1)


def tiny_config(data_dir, family):
  from configs.defaults import diffusion, gan
  c = (gan if family == "gan" else diffusion).get_config()
  c.data.update(data_dir=str(data_dir), num_train=256)
  c.train.update(num_steps=8, batch_size=16, log_every=4, progress=False, checkpoint_every=8)
  c.evals.samples.update(every=4, num=16, nrow=4)
  c.evals.quality.update(num_samples=64, batch=32, classifier_steps=30)
  return c


def test_tiny_dcgan_run_writes_grids_and_scores(data_dir, tmp_path):
  from dlcore.train import loop
  from experiments import make_task
  c = tiny_config(data_dir, "gan")
  c.model.generator.update(latent_dim=8, features=8)
  c.model.discriminator.features = 8
  c.loss.generator = "minimax"
  final, result = loop.run(make_task(c), tmp_path)
  q = result["quality"]
  assert q["num_samples"] == 64 and 1.0 <= q["inception_score"] <= 10.0
  assert q["fid_mnist_classifier"] > q["reference_fid_mnist_classifier"] >= 0.0
  assert 0.0 <= q["confident_share"] <= 1.0 and q["classifier_test_accuracy"] > 0.3
  assert {"samples_000004.png", "samples_000008.png"} <= {
      p.name for p in (tmp_path / "plots").iterdir()}
  assert (tmp_path / "sample_quality" / "classifier.msgpack").is_file()
  events = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  train = [e for e in events if e.get("split") == "train"]
  assert {"discriminator/loss", "generator/loss", "discriminator/d_real"} <= set(train[-1])
  # Both parts trained: each optimizer counted 8 updates.
  for part in ("generator", "discriminator"):
    counts = [x for x in jax.tree.leaves(final.part(part).opt_state) if x.dtype == jnp.int32]
    assert counts and all(int(x) == 8 for x in counts)
  # A judge built again in the same workdir loads the cached classifier (no training: 0 steps)
  # and its reference figures.
  from dlcore.data import load_dataset
  from dlcore.evals.sample_quality import SampleJudge
  data = load_dataset(c.data)
  mnist = {s: (data.split(s)["inputs"], data.split(s)["label"]) for s in ("train", "test")}
  again = SampleJudge(mnist, 0, 64, 0.9, int(c.seed), tmp_path)
  assert again.info == {k: v for k, v in q.items() if k in again.info}
  assert again.judge(np.asarray(mnist["test"][0][:64]))["fid_mnist_classifier"] < q[
      "fid_mnist_classifier"]
  c.loss.generator = "wasserstein"
  with pytest.raises(ConfigError, match="loss.generator"):
    make_task(c)
