"""Building blocks of supervised tasks (classification, regression, metric learning): the data
of a config on its mesh, model initialisation, one model application, the default evaluators.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from dlcore.config import cfg_get
from dlcore.data import Dataset, load_dataset
from dlcore.data.loader import TrainLoader
from dlcore.data.preprocess import make_preprocess
from dlcore.data.text import BucketLoader
from dlcore.train import mesh as mesh_lib
from dlcore.train.state import TrainState

AUX_OUTPUTS = "aux_outputs"  # collection where models sow auxiliary-head logits (LAY-20)


@dataclasses.dataclass
class SupervisedData:
  """A dataset with its training loader and on-device preprocessing, checked against the mesh."""
  mesh: Mesh
  dataset: Dataset
  loader: TrainLoader | BucketLoader
  preprocess: Callable
  sample: dict  # two raw training rows (+ mask) for initialisation and shape checks

  @property
  def info(self):
    return self.dataset.info

  def describe(self) -> str:
    return (f"{self.info.name} " + ", ".join(f"{k}={self.dataset.num_examples(k)}"
                                             for k in self.dataset.splits)
            + f"; {self.loader.steps_per_epoch} steps/epoch")


def load_data(config, dataset: Dataset | None = None) -> SupervisedData:
  """The mesh (`mesh.num_devices`), dataset (`data`), training loader (`train.batch_size`,
  shuffled with `data.shuffle_seed` or `seed`; a token dataset with `data.buckets` batches rows
  of similar length, each batch cut to its bucket's bound) and preprocessing of a config. Batch
  sizes that do not divide over the mesh fail here, before anything is compiled."""
  mesh = mesh_lib.mesh_from_config(config.mesh, 0)
  dataset = dataset or load_dataset(config.data)
  mesh_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  mesh_lib.check_batch_size(config.eval.batch_size, mesh, "eval.batch_size")
  seed = int(cfg_get(config.data, "shuffle_seed", config.seed))
  train = dataset.split("train")
  buckets = tuple(cfg_get(config.data, "buckets", ()) or ())
  if buckets and "lengths" in train:  # variable-length token rows, batched by length
    loader = BucketLoader(dict(train), train["lengths"], config.train.batch_size, seed, buckets,
                          seq_keys=("inputs",))
  else:
    loader = TrainLoader(train, config.train.batch_size, seed=seed)
  sample = ({k: jnp.asarray(v[:2]) for k, v in dataset.split("train").items()}
            | {"mask": jnp.ones((2,), jnp.float32)})
  return SupervisedData(mesh, dataset, loader, make_preprocess(config.data, dataset.info), sample)


def model_config(config, info) -> dict:
  """config.model as a dict, with `vocab_size` filled from a token dataset when the config
  leaves it 0 (the model's embedding must have one row per vocabulary id)."""
  model = config.model.to_dict() if hasattr(config.model, "to_dict") else dict(config.model)
  if info.vocab_size and not model.get("vocab_size", 0):
    model["vocab_size"] = int(info.vocab_size)
  return model


def apply_model(model, params, model_state, inputs, rng, train: bool):
  """(outputs, new model state, aux outputs) of one application with dropout key `rng`.

  Mutable collections (e.g. batch_stats) update only in training. In training, logits that the
  model sows into the `aux_outputs` collection (GoogLeNet's auxiliary classifiers) come back as
  a flat tuple; in eval (and for models without auxiliary heads) the tuple is empty.
  """
  variables = {"params": params, **model_state}
  if not train:
    return model.apply(variables, inputs, train=False, rngs={"dropout": rng}), model_state, ()
  out, updates = model.apply(variables, inputs, train=True, rngs={"dropout": rng},
                             mutable=[*model_state, AUX_OUTPUTS])
  updates = dict(updates)
  aux = tuple(jax.tree.leaves(updates.pop(AUX_OUTPUTS, {})))
  return out, {**model_state, **updates}, aux


def model_init(model, tx, sample_inputs) -> Callable[[jax.Array], TrainState]:
  """init(rng) -> TrainState of one part `model`: rng splits into the init key (streams
  'params' and 'dropout' of `model.init`) and the training key of the state."""

  def init(rng: jax.Array) -> TrainState:
    init_key, train_key = jax.random.split(rng)
    variables = dict(model.init({"params": init_key, "dropout": jax.random.fold_in(init_key, 1)},
                                sample_inputs, train=False))
    variables.pop(AUX_OUTPUTS, None)  # sown at init; recomputed by every training apply
    params = variables.pop("params")
    return TrainState.create(rng=train_key, params=params, tx=tx, model_state=variables)

  return init


def standard_evals(config, steps_per_epoch: int) -> dict[str, dict]:
  """`config.evals` when given; else the standard pair from the `eval` section: 'eval' (metrics
  on `eval.split` every `train.eval_every` steps, 0 = once per epoch) and 'test' (metrics on
  `eval.test_split` at the end), plus `eval.reports` and `eval.inspect` at the end into the
  'test' event."""
  evals = config.get("evals", None)
  if evals:
    return {k: (v.to_dict() if hasattr(v, "to_dict") else dict(v)) for k, v in evals.items()}
  every = int(cfg_get(config.train, "eval_every", 0)) or steps_per_epoch
  out = {"eval": {"type": "metrics", "split": cfg_get(config.eval, "split", "test"),
                  "every": every, "at_end": False},
         "test": {"type": "metrics", "split": cfg_get(config.eval, "test_split", "test"),
                  "at_end": True}}
  reports = tuple(cfg_get(config.eval, "reports", ()) or ())
  if reports:
    out["reports"] = {"type": "reports", "split": out["test"]["split"], "names": reports,
                      "event": "test"}
  inspect = tuple(cfg_get(config.eval, "inspect", ()) or ())
  if inspect:
    out["inspect"] = {"type": "inspect", "split": out["test"]["split"], "names": inspect,
                      "images": int(cfg_get(config.eval, "inspect_images", 8))}
  return out
