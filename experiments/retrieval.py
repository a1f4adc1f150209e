"""Metric learning for image retrieval (Exercise 002 §11.2.7, LOSS-9): an embedding network
trained with the triplet loss, evaluated by recall@k of nearest-neighbour search on the test split.

Same machinery as `experiments.classification` (data, mesh, loader, preprocessing, optimizer,
`classification.init_state`, the shared loop `dlcore.train.loop.run`); what differs:

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
  least one same-label image among them. These figures are appended to metrics.jsonl as a
  second 'test' event at the final step (after the loop's own test event with the loss) and
  merged into the result's 'test' dict together with `num_examples` (the number of queries).

`data.num_test` > 0 keeps only that prefix of the test split (default: all of it).
Early stopping is not used here: the retrieval figures are computed from the latest checkpoint.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.data import Dataset, load_dataset
from dlcore.data.loader import TrainLoader, eval_batches
from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError
from dlcore.losses import build_loss, reduce_loss
from dlcore.metrics import Average
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import loop, mesh as mesh_lib
from dlcore.train.checkpoint import Checkpointer
from dlcore.train.metric_logger import MetricLogger
from dlcore.train.state import TrainState
from dlcore.train.step import (compile_eval_step, compile_train_step, make_eval_step,
                               make_train_step)
from experiments import classification, common

QUERY_BLOCK = 1000  # queries per block of the nearest-neighbour search
_FAR = 1e3  # where padded rows are put in embedding space (real embeddings have norm 1)


@dataclasses.dataclass
class Setup(classification.Setup):
  embed_fn: Callable = None  # jitted (state, device batch) -> normalised embeddings (B, D)
  fresh_state: Callable[[], TrainState] = None  # a new initial state (a restore template)


def l2_normalize(x: jnp.ndarray, eps: float = 1e-12) -> jnp.ndarray:
  return x / jnp.sqrt(jnp.maximum(jnp.sum(x * x, axis=-1, keepdims=True), eps))


def _embed(model, preprocess, params, model_state, batch, rng, train: bool):
  """(normalised embeddings, new model state, preprocessed batch)."""
  batch = preprocess(batch, rng, train)  # data.augment runs here in training
  outputs, new_model_state, _ = classification.apply_model(model, params, model_state,
                                                           batch["inputs"], rng, train)
  return l2_normalize(outputs.astype(jnp.float32)), new_model_state, batch


def make_loss_fn(config, model, preprocess) -> Callable:
  """loss_fn(params, model_state, batch, rng, train) -> (loss, (model_state, {'loss'})).

  The triplet loss of `config.loss` on the L2-normalised embeddings of the batch.
  """
  per_anchor_loss = build_loss(config.loss)
  reduction = config.loss.get("reduction", "mean")

  def loss_fn(params, model_state, batch, rng, train: bool):
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

  return loss_fn


def _limit_test(dataset: Dataset, num_test: int) -> Dataset:
  if num_test <= 0:
    return dataset
  splits = dict(dataset.splits)
  splits["test"] = {k: v[:num_test] for k, v in dataset.split("test").items()}
  return Dataset(info=dataset.info, splits=splits)


def setup(config, console=None) -> Setup:
  del console
  mesh = mesh_lib.make_mesh(int(config.mesh.get("num_devices", 0)))
  dataset = _limit_test(load_dataset(config.data), int(config.data.get("num_test", 0) or 0))
  if dataset.info.task != "multiclass":
    raise ConfigError(f"retrieval needs class labels; dataset {dataset.info.name!r} is "
                      f"{dataset.info.task}.")
  mesh_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  mesh_lib.check_batch_size(config.eval.batch_size, mesh, "eval.batch_size")
  for split in (config.eval.split, config.eval.test_split):
    dataset.split(split)
  loader = TrainLoader(dataset.split("train"), config.train.batch_size,
                       seed=int(config.data.get("shuffle_seed", config.seed)))
  settings = loop.LoopSettings.from_config(config, loader.steps_per_epoch)

  model = build_model(config.model, int(config.embedding_dim))
  preprocess = make_preprocess(config.data, dataset.info)
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  sample = preprocess({k: jnp.asarray(v[:2]) for k, v in dataset.split("train").items()}
                      | {"mask": jnp.ones((2,), jnp.float32)})
  fresh_state = lambda: classification.init_state(model, tx, sample["inputs"], int(config.seed),
                                                  mesh)[0]
  state = fresh_state()
  loss_fn = make_loss_fn(config, model, preprocess)

  def embed(st: TrainState, batch: dict) -> jax.Array:
    return _embed(model, preprocess, st.eval_params(), st.model_state, batch, st.rng, False)[0]

  embed_fn = jax.jit(embed, in_shardings=(mesh_lib.replicated(mesh),
                                          mesh_lib.batch_sharding(mesh)),
                     out_shardings=mesh_lib.batch_sharding(mesh))
  return Setup(dataset, mesh, model, state, loader, settings, loss_fn, config=config,
               embed_fn=embed_fn, fresh_state=fresh_state)


def embed_split(s: Setup, state: TrainState, arrays, batch_size: int) -> np.ndarray:
  """Normalised embeddings (N, D) of every example of `arrays`, in order (host float32)."""
  out, n = [], int(arrays["label"].shape[0])
  for batch in eval_batches({"inputs": arrays["inputs"], "label": arrays["label"]}, batch_size):
    out.append(np.asarray(jax.device_get(s.embed_fn(state, mesh_lib.put_batch(batch, s.mesh)))))
  return np.concatenate(out)[:n]


def recall_at_k(embeddings: np.ndarray, labels: np.ndarray, ks: Sequence[int] = (1, 5),
                block: int = QUERY_BLOCK) -> dict[str, float]:
  """{'recall@k': fraction of queries with >= 1 same-label item among its k nearest others}.

  Every row is a query against all the OTHER rows (itself excluded), by Euclidean distance
  (computed as squared distance in float64, |q|^2 + |x|^2 - 2 q.x, which ranks the same).
  Ties: the k nearest are taken in order of (distance, index), i.e. among equally distant
  items the lower index is taken first (a stable sort by distance). Queries are processed in
  blocks of `block` rows so memory is block x N.
  """
  x = np.asarray(embeddings, np.float64)
  labels = np.asarray(labels)
  n = x.shape[0]
  ks = [int(k) for k in ks]
  if not ks or min(ks) < 1 or max(ks) > n - 1:
    raise ValueError(f"recall@k needs 1 <= k <= N - 1 = {n - 1}; got ks={ks}.")
  sq = np.sum(x * x, axis=1)
  hits = {k: 0 for k in ks}
  for start in range(0, n, block):
    q = x[start:start + block]
    rows = np.arange(q.shape[0])
    d = sq[start:start + block, None] + sq[None, :] - 2.0 * (q @ x.T)
    d[rows, start + rows] = np.inf  # not itself
    same = labels[start:start + block, None] == labels[None, :]
    for k in ks:
      kth = np.partition(d, k - 1, axis=1)[:, k - 1:k]  # the k-th smallest distance
      closer = d < kth
      tied = d == kth
      # all strictly closer items, then the lowest-index tied ones up to k items in all
      take_tied = tied & (np.cumsum(tied, axis=1) <= k - closer.sum(axis=1, keepdims=True))
      hits[k] += int(np.count_nonzero(((closer | take_tied) & same).any(axis=1)))
  return {f"recall@{k}": hits[k] / n for k in ks}


def retrieval_metrics(config, s: Setup, state: TrainState, split: str) -> dict:
  arrays = s.dataset.split(split)
  emb = embed_split(s, state, arrays, int(config.eval.batch_size))
  ks = tuple(config.get("recall_ks", (1, 5)))
  return {**recall_at_k(emb, arrays["label"], ks), "num_examples": int(emb.shape[0])}


def _restore_latest(s: Setup, workdir: str | pathlib.Path) -> tuple[int, TrainState]:
  ckpt = Checkpointer(pathlib.Path(workdir) / "checkpoints")
  restored = ckpt.restore_latest(s.fresh_state())
  ckpt.close()
  if restored is None:
    raise ConfigError(f"No checkpoint in {pathlib.Path(workdir) / 'checkpoints'}; train first.")
  return restored[0], restored[1]


def train_and_evaluate(config, workdir: str | pathlib.Path) -> dict:
  console = loop.make_console()
  workdir = common.prepare_workdir(config, workdir)
  s = setup(config, console)
  common.print_banner(console, config, s.mesh, s.state.params, s.state.model_state)
  console.print(f"data: {s.dataset.info.name} " + ", ".join(
      f"{k}={s.dataset.num_examples(k)}" for k in s.dataset.splits) +
                f"; {s.loader.steps_per_epoch} steps/epoch, {s.settings.num_steps} steps; "
                f"embedding dim {int(config.embedding_dim)}")
  result = loop.run(
      workdir=workdir, settings=s.settings, state=s.state,
      train_step=compile_train_step(make_train_step(s.loss_fn), s.mesh),
      eval_step=compile_eval_step(make_eval_step(s.loss_fn), s.mesh),
      train_loader=s.loader, eval_sets=s.dataset.splits, mesh=s.mesh, console=console,
      plot_metrics=("loss",))
  if result["status"] != "finished":
    return result
  step, state = _restore_latest(s, workdir)  # the loop donated its state; read the final one
  split = s.settings.test_split
  metrics = retrieval_metrics(config, s, state, split)
  logger = MetricLogger(workdir, console)
  logger.write(step, "test", metrics)
  logger.close()
  result["test"] = {**result.get("test", {}), **metrics}
  return result


def evaluate(config, workdir: str | pathlib.Path, split: str = "test") -> dict:
  """Restore the latest checkpoint of `workdir`: triplet loss and recall@k on `split`."""
  s = setup(config)
  step, state = _restore_latest(s, workdir)
  loss = loop.evaluate(compile_eval_step(make_eval_step(s.loss_fn), s.mesh), state,
                       s.dataset.split(split), config.eval.batch_size, s.mesh)
  return {"step": step, "split": split, **loss, **retrieval_metrics(config, s, state, split)}


def final_params(config, workdir: str | pathlib.Path):
  """The parameters of the latest checkpoint of `workdir` (host arrays)."""
  return jax.device_get(_restore_latest(setup(config), workdir)[1].eval_params())
