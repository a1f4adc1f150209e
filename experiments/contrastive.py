"""Contrastive representation learning on images (003 §IV self-supervised, §VI.4 multimodal;
LOSS-25), `config.method`:

- 'simclr' (SimCLR, Chen et al. 2020; model 'simclr'): every training image gives two views,
  each drawn on device inside the jitted step (`dlcore.data.augment.random_resized_crop` with
  `augment.min_side`, then additive Gaussian noise of std `augment.noise`, streams `view_1` and
  `view_2`); the loss is NT-Xent (`dlcore.losses.nt_xent_loss`, temperature `loss.temperature`)
  on the projections of the two views. Labels are never read in training. Evaluator 'probe':
  the frozen encoder's representation h of `probe.num_train` training images and of every
  image of `split` -> logistic regression (`dlcore.evals.linear_probe`) -> accuracy.
- 'clip' (CLIP-style, Radford et al. 2021; model 'clip'): every training image is paired with
  a caption built from its label, one of `captions.templates` drawn per example in the step
  (stream `caption`), e.g. "a handwritten seven"; the loss is CLIP's symmetric cross-entropy
  (`dlcore.losses.clip_loss`) over the batch. Evaluator 'zero_shot': each test image is given
  the class whose caption `template` (a training template, or one never seen, whose unknown
  words map to <unk>) lies nearest, accuracy over `split`.

The images are the data section's dataset (MNIST by default) through the shared supervised
pipeline (`dlcore.train.supervised`: loader, mesh, preprocessing).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.config import cfg_get
from dlcore.data.augment import random_resized_crop
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals
from dlcore.evals.linear_probe import probe_accuracy
from dlcore.losses import clip_loss, nt_xent_loss
from dlcore.metrics import Average
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import supervised
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import DEFAULT_STREAMS, make_train_step
from dlcore.train.task import Task

METHODS = ("simclr", "clip")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PAD, UNK = "<pad>", "<unk>"


def caption_vocabulary(templates, class_names) -> dict[str, int]:
  """Word -> id over every caption of the templates ({} marks the class name); 0 is padding,
  1 unknown."""
  words = sorted({w for t in templates for n in class_names for w in t.format(n).split()})
  return {PAD: 0, UNK: 1} | {w: i + 2 for i, w in enumerate(words)}


def caption_tokens(template: str, class_names, vocab: dict[str, int], length: int) -> np.ndarray:
  """[classes, length] int32 ids of `template` filled with each class name (0-padded)."""
  out = np.zeros((len(class_names), length), np.int32)
  for c, name in enumerate(class_names):
    ids = [vocab.get(w, vocab[UNK]) for w in template.format(name).split()]
    if len(ids) > length:
      raise ConfigError(f"caption {template.format(name)!r} has {len(ids)} words; raise "
                        f"captions.length (now {length}).")
    out[c, :len(ids)] = ids
  return out


def _images(data, batch, rng):
  """The training batch's images after the data section's preprocessing (and augment)."""
  return data.preprocess(batch, rng, True)["inputs"]


def simclr_views(key, images, min_side: float, noise: float):
  """One augmented view of a float image batch (module docstring)."""
  crop_key, noise_key = jax.random.split(key)
  x = random_resized_crop(crop_key, images, min_side)
  return x + noise * jax.random.normal(noise_key, x.shape, x.dtype) if noise > 0 else x


def make_task(config) -> Task:
  method = str(cfg_get(config, "method", ""))
  if method not in METHODS:
    raise ConfigError(f"method={method!r}; valid: {', '.join(METHODS)}.")
  data = supervised.load_data(config)
  steps_per_epoch = data.loader.steps_per_epoch
  settings = LoopSettings.from_config(config, steps_per_epoch)
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  sample = data.preprocess(data.sample)["inputs"]
  build = simclr_task if method == "simclr" else clip_task
  return build(config, data, settings, tx, sample, steps_per_epoch)


def _train_state_init(model, tx, *sample):
  def init(rng):
    init_key, train_key = jax.random.split(rng)
    params = model.init({"params": init_key}, *sample)["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx)
  return init


def _embed_split(fn, params, arrays, batch_size: int) -> np.ndarray:
  """fn(params, batch inputs) over a split in host batches, concatenated."""
  out = [np.asarray(fn(params, jnp.asarray(arrays["inputs"][i:i + batch_size])))
         for i in range(0, len(arrays["inputs"]), batch_size)]
  return np.concatenate(out)


def simclr_task(config, data, settings, tx, sample, steps_per_epoch) -> Task:
  model = build_model(config.model, int(config.embedding_dim))
  min_side = float(cfg_get(config.augment, "min_side", 0.6))
  noise = float(cfg_get(config.augment, "noise", 0.0))
  temperature = float(cfg_get(config.loss, "temperature", 0.5))

  def loss_fn(params, state, batch, rngs):
    x = _images(data, batch, rngs["dropout"])
    z1 = model.apply({"params": params}, simclr_views(rngs["view_1"], x, min_side, noise), True)
    z2 = model.apply({"params": params}, simclr_views(rngs["view_2"], x, min_side, noise), True)
    values = nt_xent_loss(z1, z2, temperature=temperature, mask=batch["mask"])
    return values.sum() / batch["mask"].sum(), {
        "metrics": {"loss": Average.from_values(values, batch["mask"])}}

  represent = jax.jit(lambda params, x: model.apply(
      {"params": params}, data.preprocess({"inputs": x})["inputs"], method="represent"))
  probe_cfg = config.get("probe", None)
  num_train = int(cfg_get(probe_cfg, "num_train", 10000))
  options = dict(C=float(cfg_get(probe_cfg, "C", 1.0)),
                 normalize=str(cfg_get(probe_cfg, "normalize", "standard")),
                 max_iter=int(cfg_get(probe_cfg, "max_iter", 1000)))
  batch_size = int(config.eval.batch_size)

  def probe(name, spec):
    split = data.dataset.split(spec.get("split", "test"))
    train = {k: v[:num_train] for k, v in data.dataset.split("train").items()}

    def run(state, args, workdir=None):
      params = state.eval_params()
      h = np.concatenate([_embed_split(represent, params, train, batch_size),
                          _embed_split(represent, params, split, batch_size)])
      labels = np.concatenate([train["label"], split["label"]])
      n = len(train["label"])
      return {"probe_accuracy": probe_accuracy(h, labels, np.arange(n),
                                               np.arange(n, len(labels)), **options),
              "num_examples": len(split["label"])}
    return run

  evaluators = parse_evals(config.evals, {"probe": probe})
  return Task(config=config, mesh=data.mesh, init=_train_state_init(model, tx, sample),
              train_step=make_train_step(loss_fn, streams=DEFAULT_STREAMS + ("view_1", "view_2")),
              batches=data.loader, evaluators=evaluators, steps_per_epoch=steps_per_epoch,
              plot_metrics=("loss",),
              summary={"data": data.describe() + f"; SimCLR views: crop side U[{min_side}, 1] "
                               f"resized, noise {noise}; NT-Xent temperature {temperature}; "
                               f"{settings.num_steps} steps"})


def clip_task(config, data, settings, tx, sample, steps_per_epoch) -> Task:
  templates = tuple(config.captions.templates)
  if not templates:
    raise ConfigError("captions.templates is empty; give at least one, e.g. 'a handwritten {}'.")
  names = tuple(cfg_get(config.captions, "class_names", DIGITS))
  if len(names) != data.info.num_classes:
    raise ConfigError(f"captions.class_names has {len(names)} names but the dataset has "
                      f"{data.info.num_classes} classes.")
  length = int(cfg_get(config.captions, "length", 8))
  vocab = caption_vocabulary(templates, names)
  table = np.stack([caption_tokens(t, names, vocab, length) for t in templates])  # [T, C, L]
  model = build_model(dict(config.model.to_dict(), vocab_size=len(vocab)),
                      int(config.embedding_dim))

  def loss_fn(params, state, batch, rngs, table):
    x = _images(data, batch, rngs["dropout"])
    pick = jax.random.randint(rngs["caption"], batch["label"].shape, 0, table.shape[0])
    tokens = table[pick, batch["label"]]
    image, text, scale = model.apply({"params": params}, x, tokens, True)
    values = clip_loss(image, text, scale, mask=batch["mask"])
    return values.sum() / batch["mask"].sum(), {
        "metrics": {"loss": Average.from_values(values, batch["mask"]),
                    "logit_scale": Average.from_values(jnp.full_like(values, scale))}}

  @jax.jit
  def similarity(params, x, captions):
    image = model.apply({"params": params}, data.preprocess({"inputs": x})["inputs"],
                        method="encode_image")
    return image @ model.apply({"params": params}, captions, method="encode_text").T

  batch_size = int(config.eval.batch_size)

  def zero_shot(name, spec):
    split = data.dataset.split(spec.get("split", "test"))
    template = str(spec.get("template", templates[0]))
    captions = jnp.asarray(caption_tokens(template, names, vocab, length))

    def run(state, args, workdir=None):
      scores = _embed_split(lambda p, x: similarity(p, x, captions), state.eval_params(), split,
                            batch_size)
      return {"zero_shot_accuracy": float((scores.argmax(1) == split["label"]).mean()),
              "num_examples": len(split["label"])}
    return run

  evaluators = parse_evals(config.evals, {"zero_shot": zero_shot},
                           options={"zero_shot": ("template",)})
  init = _train_state_init(model, tx, sample, jnp.asarray(table[0, :2]))
  return Task(config=config, mesh=data.mesh, init=init,
              train_step=make_train_step(loss_fn, streams=DEFAULT_STREAMS + ("caption",)),
              batches=data.loader, step_args=(jnp.asarray(table),), evaluators=evaluators,
              steps_per_epoch=steps_per_epoch, plot_metrics=("loss",),
              summary={"data": data.describe() + f"; captions from {len(templates)} templates "
                               f"(e.g. {templates[0].format(names[7])!r}), vocabulary "
                               f"{len(vocab)} words; {settings.num_steps} steps"})
