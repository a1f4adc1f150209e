"""Metric learning for image retrieval (Exercise 002 §11.2.7, LOSS-9): an embedding network
trained with the triplet loss, evaluated by recall@k of nearest-neighbour search on the test split.

Built from the shared supervised blocks (`dlcore.train.supervised`: data, mesh, loader,
preprocessing, model initialisation) and run by the shared loop; what differs from
classification:

- the model is `build_model(config.model, config.embedding_dim)`: its outputs are embeddings;
- the loss function L2-normalises the embeddings (||e|| = 1, so distances lie in [0, 2] and the
  margin is on that scale) before `build_loss(config.loss)` (name 'triplet': margin, mining,
  squared). Only anchors with a positive and a negative in the batch count in the mean (the
  triplet loss gives 0 for the others). Padded eval rows (mask 0) are moved far away and given
  unique labels, so they are never a positive and never the hardest negative of a real anchor;
- the training/eval metric is only 'loss' (the triplet loss of each eval batch of
  `eval.batch_size` images, mined within that batch);
- after training, recall@k (k in `config.recall_ks`, default (1, 5)) on the test split: every
  test image is embedded (jitted, batched over the mesh), and for each query its k nearest OTHER
  test images by Euclidean distance on the normalised embeddings are searched in blocks of 1000
  queries (a 10k x 10k distance matrix would be 400 MB). recall@k = fraction of queries with at
  least one same-label image among them (evaluator type 'recall', `dlcore.evals.retrieval`).
  These figures join the final 'test' event with the loss, together with `num_examples` (the
  number of queries).

`data.num_test` > 0 keeps only that prefix of the test split (default: all of it).
Evaluator types for `config.evals`: 'metrics' (the triplet loss over a split), 'recall' (`ks`).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from dlcore.config import cfg_get
from dlcore.data import Dataset, load_dataset
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals, split_metrics
from dlcore.evals.retrieval import recall_evaluator
from dlcore.losses import build_loss, reduce_loss
from dlcore.metrics import Average, PackedAverages
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import supervised
from dlcore.train.loop import LoopSettings
from dlcore.train.step import compile_eval_step, make_train_step
from dlcore.train.task import Task

_FAR = 1e3  # where padded rows are put in embedding space (real embeddings have norm 1)


def l2_normalize(x: jnp.ndarray, eps: float = 1e-12) -> jnp.ndarray:
  return x / jnp.sqrt(jnp.maximum(jnp.sum(x * x, axis=-1, keepdims=True), eps))


def _embed(model, preprocess, params, model_state, batch, rng, train: bool):
  """(normalised embeddings, new model state, preprocessed batch)."""
  batch = preprocess(batch, rng, train)  # data.augment runs here in training
  outputs, new_model_state, _ = supervised.apply_model(model, params, model_state,
                                                       batch["inputs"], rng, train)
  return l2_normalize(outputs.astype(jnp.float32)), new_model_state, batch


def make_loss_fn(config, model, preprocess) -> Callable:
  """objective(params, model_state, batch, rng, train) -> (loss, (model_state, {'loss'})).

  The triplet loss of `config.loss` on the L2-normalised embeddings of the batch.
  """
  per_anchor_loss = build_loss(config.loss)
  reduction = cfg_get(config.loss, "reduction", "mean")

  def objective(params, model_state, batch, rng, train: bool):
    emb, new_model_state, batch = _embed(model, preprocess, params, model_state, batch, rng,
                                         train)
    mask = batch["mask"].astype(jnp.float32)
    real = mask > 0
    n = emb.shape[0]
    labels = batch["label"].astype(jnp.int32)
    labels = jnp.where(real, labels, -1 - jnp.arange(n, dtype=jnp.int32))  # unique: no positive
    emb = jnp.where(real[:, None], emb, _FAR)  # never the hardest negative of a real anchor
    per_anchor = per_anchor_loss(emb, labels)
    same = labels[:, None] == labels[None, :]
    has_pos = (same & ~jnp.eye(n, dtype=bool)).any(axis=1)
    has_neg = (~same).any(axis=1)
    weight = mask * (has_pos & has_neg).astype(jnp.float32)
    loss = reduce_loss(per_anchor, weight, reduction)
    return loss, (new_model_state, {"loss": Average.from_values(per_anchor, weight)})

  return objective


def _limit_test(dataset: Dataset, num_test: int) -> Dataset:
  if num_test <= 0:
    return dataset
  splits = dict(dataset.splits)
  splits["test"] = {k: v[:num_test] for k, v in dataset.split("test").items()}
  return Dataset(info=dataset.info, splits=splits)


def make_task(config) -> Task:
  dataset = _limit_test(load_dataset(config.data), int(cfg_get(config.data, "num_test", 0)))
  if dataset.info.task != "multiclass":
    raise ConfigError(f"retrieval needs class labels; dataset {dataset.info.name!r} is "
                      f"{dataset.info.task}.")
  data = supervised.load_data(config, dataset)
  steps_per_epoch = data.loader.steps_per_epoch
  settings = LoopSettings.from_config(config, steps_per_epoch)
  model = build_model(config.model, int(config.embedding_dim))
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  init = supervised.model_init(model, tx, data.preprocess(data.sample)["inputs"])
  objective = make_loss_fn(config, model, data.preprocess)

  def loss_fn(params, state, batch, rngs):
    loss, (model_state, metrics) = objective(params, state.model_state, batch, rngs["dropout"],
                                             True)
    return loss, {"metrics": metrics, "model_state": model_state}

  def eval_step(state, batch):
    return PackedAverages.pack(objective(state.eval_params(), state.model_state, batch,
                                         state.rng, False)[1][1])

  def embed(state, batch):
    return _embed(model, data.preprocess, state.eval_params(), state.model_state, batch,
                  state.rng, False)[0]

  eval_step = compile_eval_step(eval_step, data.mesh)
  embed = jax.jit(embed)
  batch_size = int(config.eval.batch_size)
  specs = supervised.standard_evals(config, steps_per_epoch)
  if not config.get("evals", None):
    specs["recall"] = {"type": "recall", "split": specs["test"]["split"], "event": "test",
                       "ks": tuple(config.get("recall_ks", (1, 5)))}
  factories = {
      "metrics": lambda name, spec: split_metrics(eval_step, data.dataset.split(spec["split"]),
                                                  batch_size, data.mesh),
      "recall": lambda name, spec: recall_evaluator(embed, data.dataset.split(spec["split"]),
                                                    batch_size, data.mesh,
                                                    tuple(spec.get("ks", (1, 5)))),
  }
  evaluators = parse_evals(specs, factories, options={"recall": ("ks",)})
  for e in evaluators:
    data.dataset.split(e.split)
  return Task(config=config, mesh=data.mesh, init=init, train_step=make_train_step(loss_fn),
              batches=data.loader, evaluators=evaluators, steps_per_epoch=steps_per_epoch,
              plot_metrics=("loss",),
              summary={"data": data.describe() + f", {settings.num_steps} steps; embedding dim "
                               f"{int(config.embedding_dim)}"})
