"""Graphs (ARC-41, ARC-42, ARC-44; LAY-44, LAY-45): node classification on one graph, full batch
(`dlcore.data.graph.load_graph`: Cora with the standard Planetoid split by default), by either

- a graph network (`model.name` 'gcn', 'gat' or 'mpnn', `dlcore.models.gnn`): one step is one
  epoch, the whole graph through the model in training mode; the loss is the mean
  cross-entropy over the training nodes (the others' labels are never read), weight decay comes
  from the optimizer (`optimizer.l2_coupled`: λW added to the gradient, as the papers' L2 term
  in the loss under Adam). The graph arrays (features, edges, labels, train mask) are the step's
  arguments, not constants baked into the program; features with at most 25% non-zeros (Cora:
  1.3%) go in as a `dlcore.nn.sparse.SparseMatrix`; or
- DeepWalk / node2vec (`model.name='skipgram'`, `dlcore.models.skipgram`): each step walks
  from `walks.batch` start nodes (`dlcore.data.graph.walks`, node2vec's p, q; p = q = 1 is
  DeepWalk), makes the skip-gram pairs within `walks.window`, and takes one Adam step on the
  negative-sampling loss (`walks.negatives` draws per pair from P_n ∝ degree^0.75). An epoch
  starts `walks.per_node` walks from every node, in an order drawn anew each epoch, so the walk
  corpus is regenerated every epoch (inside the jitted step: only (rng, step) decide it, and a
  resumed run walks the same walks). The embeddings are then judged by a linear probe
  (`dlcore.evals.linear_probe`, section `probe`): logistic regression fitted on the training
  nodes of the split (Cora: the standard 140), accuracy on the val / test nodes.

Evaluators (`config.evals`): 'metrics' (graph networks; loss and accuracy on the nodes of
`split` train/val/test, the model in evaluation mode), 'probe' (skip-gram; probe accuracy on
`split`), 'plot' (both; plots/<name>.png, the embeddings or the last hidden layer of every node
projected to 2-D by `method` 'tsne' or 'pca', coloured by class).
"""

from __future__ import annotations

import math
import pathlib
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcore.config import cfg_get
from dlcore.data.graph import Graph, load_graph
from dlcore.data.graph.walks import neighbour_table, random_walks
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals
from dlcore.evals.linear_probe import probe_accuracy
from dlcore.losses.skipgram import negative_sampling_loss, noise_distribution, sample_negatives
from dlcore.metrics import Average
from dlcore.models import build_model
from dlcore.models.skipgram import window_valid
from dlcore.nn.sparse import SparseMatrix
from dlcore.optim import build_optimizer
from dlcore.train import mesh as mesh_lib
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import DEFAULT_STREAMS, make_train_step
from dlcore.train.task import Task
from dlcore.viz.embeddings import plot_embeddings, project_2d

GNN_MODELS = ("gcn", "gat", "mpnn")
EMBEDDING_MODELS = ("skipgram",)
PLOT_OPTIONS = ("method",)
SPARSE_DENSITY = 0.25  # features with at most this share of non-zeros go in as a SparseMatrix
WALK_STREAMS = DEFAULT_STREAMS + ("walks", "negatives")


def make_task(config) -> Task:
  graph = load_graph(config.data)
  mesh = mesh_lib.mesh_from_config(config.mesh, 1)
  name = str(cfg_get(config.model, "name", ""))
  if name in GNN_MODELS:
    return gnn_task(config, graph, mesh)
  if name in EMBEDDING_MODELS:
    return walk_task(config, graph, mesh)
  raise ConfigError(f"model.name={name!r} is not a graph model; valid: "
                    f"{', '.join(GNN_MODELS + EMBEDDING_MODELS)}.")


def _check_split(name: str, spec: dict, graph: Graph) -> str:
  split = spec.get("split", "")
  if split not in graph.splits:
    raise ConfigError(f"evals.{name}.split={split!r}; the graph's node splits are "
                      f"{', '.join(graph.splits)}.")
  return split


def plot_evaluator(graph: Graph, embed, seed: int):
  """The 'plot' factory: `embed(state) -> [N, d]` projected and drawn, one PNG per call."""
  def factory(name, spec):
    method = str(spec.get("method", "tsne"))

    def run(state, args, workdir=None):
      if workdir is None:
        return {}
      points = project_2d(np.asarray(jax.device_get(embed(state))), method, seed)
      path = pathlib.Path(workdir) / "plots" / f"{name}.png"
      plot_embeddings(points, graph.labels, graph.class_names, path,
                      f"{graph.name}: {method} of the node embeddings at step "
                      f"{int(jax.device_get(state.step))}")
      return {"plot": str(path)}
    return run
  return factory


def _summary(graph: Graph, extra: str) -> dict:
  sizes = " / ".join(f"{len(v)} {k}" for k, v in graph.splits.items())
  return {"data": f"{graph.name}: {graph.num_nodes} nodes, {graph.features.shape[1]} features, "
                  f"{graph.num_classes} classes, {graph.notes}; nodes {sizes}; {extra}"}


def gnn_task(config, graph: Graph, mesh) -> Task:
  """Full-batch node classification by a graph network (module docstring)."""
  settings = LoopSettings.from_config(config, 1)
  model = build_model(config.model, graph.num_classes)
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  x = graph.features
  x = SparseMatrix.from_dense(x) if (x != 0).mean() <= SPARSE_DENSITY else jnp.asarray(x)
  args = (x,) + tuple(jnp.asarray(a) for a in (graph.senders, graph.receivers, graph.labels,
                                                graph.mask("train")))

  def init(rng):
    init_key, train_key = jax.random.split(rng)
    params = model.init({"params": init_key}, *args[:3])["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx)

  def loss_fn(params, state, batch, rngs, x, senders, receivers, labels, mask):
    logits = model.apply({"params": params}, x, senders, receivers, train=True,
                         rngs={"dropout": rngs["dropout"]})
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    hit = (logits.argmax(-1) == labels).astype(jnp.float32)
    return (ce * mask).sum() / mask.sum(), {"metrics": {"loss": Average.from_values(ce, mask),
                                                        "accuracy": Average.from_values(hit,
                                                                                        mask)}}

  @jax.jit
  def forward(params, x, senders, receivers):
    logits, inter = model.apply({"params": params}, x, senders, receivers,
                                mutable=["intermediates"])
    return logits, inter["intermediates"]["hidden"][-1]

  def metrics(name, spec):
    nodes = graph.splits[_check_split(name, spec, graph)]

    def run(state, args, workdir=None):
      logits = np.asarray(forward(state.eval_params(), *args[:3])[0], np.float64)[nodes]
      labels = graph.labels[nodes]
      logp = logits - logits.max(1, keepdims=True)
      logp -= np.log(np.exp(logp).sum(1, keepdims=True))
      return {"loss": float(-logp[np.arange(len(nodes)), labels].mean()),
              "accuracy": float((logits.argmax(1) == labels).mean())}
    return run

  hidden = lambda state: forward(state.eval_params(), *args[:3])[1]
  evaluators = parse_evals(config.evals, {
      "metrics": metrics, "plot": plot_evaluator(graph, hidden, int(config.seed))},
      options={"plot": PLOT_OPTIONS}, writes_files=("plot",))
  return Task(config=config, mesh=mesh, init=init, train_step=make_train_step(loss_fn),
              batches=None, step_args=args, evaluators=evaluators, steps_per_epoch=1,
              plot_metrics=("loss", "accuracy"),
              summary=_summary(graph, f"full batch, {settings.num_steps} epochs"))


def walk_schedule(cfg, num_nodes: int) -> tuple[int, int, int]:
  """(walks per step, walks per node per epoch, steps per epoch) of `config.walks`."""
  batch, per_node = int(cfg_get(cfg, "batch", 64)), int(cfg_get(cfg, "per_node", 1))
  for key, value in (("batch", batch), ("per_node", per_node),
                     ("length", int(cfg_get(cfg, "length", 40))),
                     ("window", int(cfg_get(cfg, "window", 5)))):
    if value < 1:
      raise ConfigError(f"walks.{key} must be >= 1, got {value}.")
  for key in ("p", "q"):
    if not float(cfg_get(cfg, key, 1.0)) > 0:
      raise ConfigError(f"walks.{key} must be > 0, got {cfg_get(cfg, key, 1.0)}.")
  return batch, per_node, math.ceil(num_nodes * per_node / batch)


def walk_task(config, graph: Graph, mesh) -> Task:
  """DeepWalk / node2vec: skip-gram with negative sampling on fresh walks (module docstring)."""
  w = config.walks
  batch, per_node, steps_per_epoch = walk_schedule(w, graph.num_nodes)
  length, window = int(cfg_get(w, "length", 40)), int(cfg_get(w, "window", 5))
  p, q, k = float(cfg_get(w, "p", 1.0)), float(cfg_get(w, "q", 1.0)), int(
      cfg_get(w, "negatives", 5))
  settings = LoopSettings.from_config(config, steps_per_epoch)
  model = build_model(config.model, graph.num_nodes)
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  table, degree = neighbour_table(graph.senders, graph.receivers, graph.num_nodes)
  noise = noise_distribution(degree, float(cfg_get(w, "noise_power", 0.75)))
  args = (jnp.asarray(table), jnp.asarray(degree), jnp.asarray(noise))
  epoch_salt = zlib.crc32(b"walk_order") & 0x7FFFFFFF

  def init(rng):
    init_key, train_key = jax.random.split(rng)
    ids = jnp.zeros((1,), jnp.int32)
    params = model.init({"params": init_key}, ids, ids[:, None])["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx)

  def starts(state):
    """This step's start nodes: a slice of the epoch's shuffled list of per_node x N starts
    (the last slice of an epoch wraps around to its beginning)."""
    epoch, pos = state.step // steps_per_epoch, state.step % steps_per_epoch
    key = jax.random.fold_in(jax.random.fold_in(state.rng, epoch_salt), epoch)
    order = jax.random.permutation(key, jnp.tile(jnp.arange(graph.num_nodes), per_node))
    order = jnp.concatenate([order, order[:steps_per_epoch * batch - len(order)]])
    return jax.lax.dynamic_slice(order, (pos * batch,), (batch,))

  def loss_fn(params, state, batch_, rngs, table, degree, noise):
    walks = random_walks(rngs["walks"], starts(state), table, degree, length, p, q)
    negatives = sample_negatives(rngs["negatives"], noise, walks.shape + (k,))
    positive, negative = model.apply({"params": params}, walks, window, negatives,
                                     method="window_scores")
    loss = negative_sampling_loss(positive, negative[:, :, None, :])  # [B, L, 2w]
    weight = window_valid(length, window)[None] & (degree[walks] > 0)[..., None]
    weight = weight.astype(jnp.float32)
    return (loss * weight).sum() / jnp.maximum(weight.sum(), 1.0), {
        "metrics": {"loss": Average.from_values(loss.reshape(-1), weight.reshape(-1))}}

  embed_fn = jax.jit(lambda params: model.apply({"params": params},
                                                jnp.arange(graph.num_nodes), method="embed"))
  embed = lambda state: embed_fn(state.eval_params())
  probe_cfg = config.get("probe", None)
  options = dict(C=float(cfg_get(probe_cfg, "C", 1.0)),
                 normalize=str(cfg_get(probe_cfg, "normalize", "none")),
                 max_iter=int(cfg_get(probe_cfg, "max_iter", 1000)))

  def probe(name, spec):
    nodes = graph.splits[_check_split(name, spec, graph)]

    def run(state, args, workdir=None):
      emb = np.asarray(jax.device_get(embed(state)))
      return {"accuracy": probe_accuracy(emb, graph.labels, graph.splits["train"], nodes,
                                         **options)}
    return run

  evaluators = parse_evals(config.evals, {
      "probe": probe, "plot": plot_evaluator(graph, embed, int(config.seed))},
      options={"plot": PLOT_OPTIONS}, writes_files=("plot",))
  kind = "DeepWalk (uniform walks)" if p == q == 1.0 else f"node2vec walks (p={p:g}, q={q:g})"
  pairs = batch * 2 * sum(max(length - o, 0) for o in range(1, window + 1))
  return Task(config=config, mesh=mesh, init=init,
              train_step=make_train_step(loss_fn, streams=WALK_STREAMS), batches=None,
              step_args=args, evaluators=evaluators, steps_per_epoch=steps_per_epoch,
              plot_metrics=("loss",),
              summary=_summary(graph, f"{kind}: {batch} walks of {length} a step, window "
                                      f"{window}, {pairs} pairs, {k} negatives per centre; "
                                      f"{steps_per_epoch} steps/epoch, {settings.num_steps} "
                                      f"steps"))
