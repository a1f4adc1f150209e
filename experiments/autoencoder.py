"""Autoencoders on images (ARC-29..32; LOSS-16..18): `model.name` 'autoencoder' or 'vae'
(`dlcore.models.autoencoder`), trained on the flattened pixels x ∈ [0, 1]^784 of MNIST read from
the IDX files by the supervised pipeline (`dlcore.train.supervised.load_data`: the same loader,
shuffling and on-device scaling as experiments/classification.py; labels are never trained on).

Objectives (per image, summed over pixels; `dlcore.losses.generative`):
  autoencoder   ||x − σ(l)||² (LOSS-16; `loss.reconstruction='bernoulli'`: the Bernoulli NLL)
                + sparsity (section `sparsity`, LOSS-18): kind 'l1': weight · mean_b Σ_j |h_j|;
                kind 'kl': weight · Σ_j KL(ρ || ρ̂_j), ρ̂_j the batch mean of the code unit
                (needs `model.code_activation='sigmoid'`); 'none'.
                Denoising (ARC-30, section `noise`): in training the encoder sees a corrupted x̃
                and the target stays the clean x; drawn on device inside the step from the
                'noise' rng stream: type 'gaussian' x̃ = clip(x + level·ε, 0, 1); 'masking'
                each pixel set to 0 with probability level; 'salt_pepper' each pixel with
                probability level replaced by 0 or 1 (even odds); 'none'. Evaluation is clean.
  vae           −ELBO = Bernoulli NLL(x | z) + loss.beta · KL(N(μ, σ²) || N(0, I)) (LOSS-17),
                z = μ + σ ε from the 'latent' stream; in nats per image. Evaluation uses one
                sample per image from a fixed key, so the reported −ELBO is a one-sample
                unbiased estimate (identical in every evaluation of one state).

Data (`data`): normalize must be 'unit' (x / 255), flatten True. `binarize`: 'none', 'threshold'
(x > 0.5 → 1, else 0: fixed, deterministic) or 'bernoulli' (one draw x ~ Bernoulli(pixel / 255)
per image, seeded by `binarize_seed`, made once on the host; the style of the Larochelle-Murray
static binarized MNIST). `exclude_digit` d in 0..9 drops d from the training split (test keeps
every digit), for the anomaly evaluator; −1 keeps all.

Evaluators (`config.evals`): 'metrics' (loss: squared error or −ELBO per image; the VAE also
'reconstruction' (the NLL) and 'kl'; the AE 'penalty'), 'reconstructions' (PNG: originals, the
corrupted inputs when noise is on, reconstructions; option `images`), 'samples' (VAE: decoded
z ~ N(0, I); `rows`, `cols`), 'traversal' (one latent unit varied per row; `units`, `steps`),
'scatter' (codes (the VAE's μ) of `points` images in 2-D, coloured by digit: as they are when
latent = 2, else `method` 'pca' or 'tsne'), 'anomaly' (ROC AUC of data.exclude_digit against
the other digits of the split, scored by the per-image loss; `dlcore.evals.reconstruction`).

The workdir keeps autoencoder.json (the model's name and sizes): restoring into a config of
another latent size (or architecture) fails with one error naming both sizes.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.config import cfg_get
from dlcore.data import Dataset, load_dataset
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals, split_metrics
from dlcore.evals.reconstruction import OPTIONS, PICTURES, picture_factories
from dlcore.losses import (bernoulli_nll, gaussian_kl, kl_sparsity, l1_sparsity,
                           reconstruction_loss, reduce_loss)
from dlcore.metrics import Average, PackedAverages
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import supervised
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import DEFAULT_STREAMS, compile_eval_step, make_train_step
from dlcore.train.task import Task

MODEL_NAMES = ("autoencoder", "vae")
NOISE_TYPES = ("none", "gaussian", "masking", "salt_pepper")
SPARSITY_KINDS = ("none", "l1", "kl")
BINARIZE = ("none", "threshold", "bernoulli")
RECONSTRUCTION = ("squared", "bernoulli")
STREAMS = DEFAULT_STREAMS + ("latent", "noise")
ASSET = "autoencoder.json"
EVAL_KEY = 0x5EED  # folded into the state's key: the fixed ε of every VAE evaluation


def _choice(section, key: str, default: str, valid: tuple[str, ...], where: str) -> str:
  value = str(cfg_get(section, key, default))
  if value not in valid:
    raise ConfigError(f"{where}.{key}={value!r}; valid: {', '.join(valid)}.")
  return value


def binarize(images: np.ndarray, how: str, seed: int) -> np.ndarray:
  """uint8 images with pixels in {0, 255}: threshold (p > 0.5) or one Bernoulli(p) draw."""
  if how == "threshold":
    keep = images > 127
  else:
    keep = np.random.default_rng(seed).random(images.shape) < images / 255.0
  return np.where(keep, 255, 0).astype(np.uint8)


def load_images(data_config) -> Dataset:
  """The dataset of `data_config`, binarized (`binarize`) and without `exclude_digit` in train."""
  how = _choice(data_config, "binarize", "none", BINARIZE, "data")
  digit = int(cfg_get(data_config, "exclude_digit", -1))
  dataset = load_dataset(data_config)
  if digit >= dataset.info.num_classes or digit < -1:
    raise ConfigError(f"data.exclude_digit={digit}; use -1 (keep all) or a class in 0.."
                      f"{dataset.info.num_classes - 1}.")
  if dataset.info.input_dtype != "uint8":
    raise ConfigError(f"the autoencoder family needs uint8 images; {dataset.info.name!r} has "
                      f"{dataset.info.input_dtype} inputs.")
  splits = {}
  seed = int(cfg_get(data_config, "binarize_seed", 0))
  for i, (name, split) in enumerate(dataset.splits.items()):
    split = dict(split)
    if how != "none":
      split["inputs"] = binarize(np.asarray(split["inputs"]), how, seed + i)
    if digit >= 0 and name != "test":
      keep = np.asarray(split["label"]) != digit
      split = {k: np.asarray(v)[keep] for k, v in split.items()}
    splits[name] = split
  return Dataset(info=dataset.info, splits=splits)


def corrupt(rng: jax.Array, x: jax.Array, kind: str, level: float) -> jax.Array:
  """ARC-30 corruption x̃ of pixels x ∈ [0, 1] (module docstring)."""
  if kind == "gaussian":
    return jnp.clip(x + level * jax.random.normal(rng, x.shape, x.dtype), 0.0, 1.0)
  u_key, v_key = jax.random.split(rng)
  hit = jax.random.uniform(u_key, x.shape) < level
  if kind == "masking":
    return jnp.where(hit, 0.0, x)
  if kind == "salt_pepper":
    return jnp.where(hit, jax.random.bernoulli(v_key, 0.5, x.shape).astype(x.dtype), x)
  return x


def _settings(config) -> dict:
  """The checked model, loss, noise and sparsity choices of a config."""
  name = _choice(config.model, "name", "", MODEL_NAMES, "model")
  if _choice(config.data, "normalize", "unit", ("unit",), "data") != "unit" or not bool(
      cfg_get(config.data, "flatten", False)):
    raise ConfigError("the autoencoder family needs data.flatten=True (MLP autoencoders).")
  noise, sparsity = config.get("noise", None), config.get("sparsity", None)
  s = dict(name=name, noise=_choice(noise, "type", "none", NOISE_TYPES, "noise"),
           level=float(cfg_get(noise, "level", 0.0)),
           sparsity=_choice(sparsity, "kind", "none", SPARSITY_KINDS, "sparsity"),
           weight=float(cfg_get(sparsity, "weight", 0.0)),
           rho=float(cfg_get(sparsity, "rho", 0.05)),
           reconstruction=_choice(config.loss, "reconstruction", "squared", RECONSTRUCTION,
                                  "loss"),
           beta=float(cfg_get(config.loss, "beta", 1.0)))
  if name == "vae" and (s["noise"] != "none" or s["sparsity"] != "none"):
    raise ConfigError("noise and sparsity apply to model.name='autoencoder'; set noise.type and "
                      "sparsity.kind to 'none' for the VAE.")
  if s["noise"] in ("masking", "salt_pepper") and not 0.0 <= s["level"] <= 1.0:
    raise ConfigError(f"noise.level is a probability for {s['noise']!r}, got {s['level']}.")
  if s["sparsity"] == "kl":
    if not 0.0 < s["rho"] < 1.0:
      raise ConfigError(f"sparsity.rho must be in (0, 1), got {s['rho']}.")
    if cfg_get(config.model, "code_activation", "linear") != "sigmoid":
      raise ConfigError("sparsity.kind='kl' needs codes in (0, 1): set "
                        "model.code_activation='sigmoid'.")
  return s


def make_objective(model, preprocess, s: dict):
  """objective(params, batch, latent_key, noise_key, train) -> (loss, metrics, per-image loss,
  codes); metrics are `Average`s over the unmasked images."""

  def objective(params, batch, latent_key, noise_key, train: bool):
    x, mask = preprocess(batch)["inputs"], batch["mask"]
    if s["name"] == "vae":
      logits, mean, logvar = model.apply({"params": params}, x, rngs={"latent": latent_key})
      nll, kl = bernoulli_nll(logits, x), gaussian_kl(mean, logvar)
      per_image = nll + s["beta"] * kl
      metrics = {"reconstruction": Average.from_values(nll, mask),
                 "kl": Average.from_values(kl, mask)}
      return reduce_loss(per_image, mask), metrics, per_image, mean
    x_in = corrupt(noise_key, x, s["noise"], s["level"]) if train else x
    logits, codes = model.apply({"params": params}, x_in)
    per_image = (bernoulli_nll(logits, x) if s["reconstruction"] == "bernoulli"
                 else reconstruction_loss(jax.nn.sigmoid(logits), x))
    if s["sparsity"] == "l1":
      penalty = s["weight"] * reduce_loss(l1_sparsity(codes), mask)
    elif s["sparsity"] == "kl":
      penalty = s["weight"] * kl_sparsity(codes, s["rho"], mask)
    else:
      penalty = jnp.zeros(())
    metrics = {"penalty": Average(penalty, jnp.ones(()))}
    return reduce_loss(per_image, mask) + penalty, metrics, per_image, codes

  return objective


def _evaluators(config, s: dict, data, model, eval_step, scores_and_codes) -> list:
  """The evaluators of `config.evals` (module docstring), checked against the splits."""
  batch_size = int(config.eval.batch_size)

  def metrics(name, spec):
    return split_metrics(eval_step, data.dataset.split(spec["split"]), batch_size, data.mesh)

  noise = None if s["noise"] == "none" else (
      lambda rng, x: corrupt(rng, x, s["noise"], s["level"]))
  factories = picture_factories(
      model=model, split=data.dataset.split, preprocess=data.preprocess, mesh=data.mesh,
      batch_size=batch_size, scores_and_codes=scores_and_codes,
      image_shape=data.info.input_shape, held_out=int(cfg_get(config.data, "exclude_digit", -1)),
      corrupt=noise, seed=int(config.seed))
  out = parse_evals(config.evals, {"metrics": metrics, **factories}, options=OPTIONS,
                    writes_files=PICTURES)
  for e in out:  # fail now, not after training, when a split is missing
    if e.split:
      data.dataset.split(e.split)
  return out


def make_task(config) -> Task:
  s = _settings(config)
  data = supervised.load_data(config, load_images(config.data))
  num_pixels = int(np.prod(data.info.input_shape))
  settings = LoopSettings.from_config(config, data.loader.steps_per_epoch)
  model = build_model(config.model, num_pixels)
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  objective = make_objective(model, data.preprocess, s)
  x0 = data.preprocess(data.sample)["inputs"]

  def init(rng):
    init_key, train_key = jax.random.split(rng)
    params = model.init({"params": init_key, "latent": init_key}, x0)["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx)

  def loss_fn(params, state, batch, rngs):
    loss, metrics, per_image, _ = objective(params, batch, rngs["latent"], rngs["noise"], True)
    return loss, {"metrics": {"loss": Average.from_values(per_image, batch["mask"]), **metrics}}

  def eval_step(state, batch):
    key = jax.random.fold_in(state.rng, EVAL_KEY)
    _, metrics, per_image, _ = objective(state.eval_params(), batch, key, key, False)
    return PackedAverages.pack({"loss": Average.from_values(per_image, batch["mask"]),
                                **metrics})

  @jax.jit
  def scores_and_codes(state, batch):
    key = jax.random.fold_in(state.rng, EVAL_KEY)
    _, _, per_image, codes = objective(state.eval_params(), batch, key, key, False)
    return jnp.concatenate([per_image[:, None], codes.reshape(codes.shape[0], -1)], axis=-1)

  evaluators = _evaluators(config, s, data, model, compile_eval_step(eval_step, data.mesh),
                           scores_and_codes)
  sizes = "-".join(str(v) for v in (num_pixels, *model.hidden, model.latent,
                                    *reversed(model.hidden), num_pixels))
  spec = {"kind": "autoencoder architecture",
          "summary": f"model {s['name']!r} with latent size {model.latent} ({sizes})"}
  summary = {"data": data.describe() + f", {settings.num_steps} steps",
             "model": spec["summary"] + f"; noise {s['noise']}, sparsity {s['sparsity']}"}
  return Task(config=config, mesh=data.mesh, init=init,
              train_step=make_train_step(loss_fn, streams=STREAMS), batches=data.loader,
              evaluators=evaluators, steps_per_epoch=data.loader.steps_per_epoch,
              plot_metrics=("loss",) + (("reconstruction", "kl") if s["name"] == "vae" else ()),
              summary=summary, assets={**data.info.assets, ASSET: json.dumps(spec)})

