"""BERT pretraining (ARC-23, TL-1, LOSS-21): masked-language modelling plus next-sentence
prediction on the local English text, for fine-tuning afterwards (configs/sst2_bert.py).

Corpus (`config.data.sources`, any of): 'sst2' (the SST-2 training sentences, never the dev
set), 'multi30k' (the English side of the Multi30k training pairs) and 'tinyshakespeare' (its
speeches, blank-line separated, one line a sentence). Text is lowercased into words
(`data.tokenizer='word'`, the SST-2 tokenizer, so a fine-tuning run reads SST-2 with this
vocabulary); the vocabulary (train tokens seen >= `data.min_freq` times, at most
`data.max_vocab`) is the run asset vocab.json. Examples (`dlcore.data.text.pretraining`): pairs
of consecutive sentences of a document (half of them with a random B instead, NSP label 0),
single sentences where there is no next one; `data.max_len` tokens; `data.valid_fraction` of
the examples (a seeded random subset) is the 'valid' split.

Loss: in every training batch, 15% of each row's ordinary tokens are chosen anew (80% [MASK],
10% random, 10% kept; `dlcore.data.text.masking`, key stream 'mask'); the MLM loss is the mean
cross-entropy over the chosen positions (the MLM head runs only there: at most
round(15% of the row width) positions per row, the vocabulary softmax being most of a small
BERT's cost), the NSP loss the mean over the pair examples, and the
objective their sum. Evaluator 'metrics' (default on 'valid'): mlm_loss, mlm_accuracy,
nsp_loss, nsp_accuracy with a fixed masking key.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.config import cfg_get
from dlcore.data.base import resolve_data_dir
from dlcore.data.loader import TrainLoader
from dlcore.data.text import (Vocab, cached_arrays, cached_json, file_sha256, make_tokenizer,
                              read_parallel, read_sst2, read_tiny_shakespeare)
from dlcore.data.text.masking import FIRST_ORDINARY, mask_counts, mask_tokens
from dlcore.data.text.pretraining import bert_examples
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals, split_metrics
from dlcore.metrics import Average, PackedAverages
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import mesh as mesh_lib
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import DEFAULT_STREAMS, compile_eval_step, make_train_step
from dlcore.train.task import Task

SOURCES = ("sst2", "multi30k", "tinyshakespeare")
SOURCE_FILES = {"sst2": ("sst2/train.tsv",), "multi30k": ("multi30k/train.en.gz",),
                "tinyshakespeare": ("tinyshakespeare/input.txt",)}


def read_documents(data_dir, sources) -> list[list[str]]:
  """The corpus as documents of sentences (module docstring)."""
  docs = []
  for source in sources:
    if source == "sst2":
      docs += [[s] for s in read_sst2(data_dir, "train")[0]]
    elif source == "multi30k":
      docs += [[s] for s in read_parallel(data_dir, "train", "de", "en")[1]]
    elif source == "tinyshakespeare":
      for speech in read_tiny_shakespeare(data_dir).split("\n\n"):
        lines = [line.strip() for line in speech.split("\n") if line.strip()]
        docs.append(lines)
    else:
      raise ConfigError(f"data.sources has {source!r}; the pretraining sources are "
                        f"{', '.join(SOURCES)}.")
  return docs


def build_corpus(cfg):
  """(vocab, {'train', 'valid'} example arrays) of the config, cached by content and settings."""
  data_dir = resolve_data_dir(cfg)
  sources = tuple(cfg_get(cfg, "sources", SOURCES))
  if not sources:
    raise ConfigError("data.sources is empty; name at least one of " + ", ".join(SOURCES) + ".")
  tokenize = make_tokenizer(str(cfg_get(cfg, "tokenizer", "word")))
  settings = dict(sources=list(sources), tokenizer=str(cfg_get(cfg, "tokenizer", "word")),
                  min_freq=int(cfg_get(cfg, "min_freq", 2)),
                  max_vocab=int(cfg_get(cfg, "max_vocab", 16000)),
                  max_len=int(cfg_get(cfg, "max_len", 64)),
                  valid_fraction=float(cfg_get(cfg, "valid_fraction", 0.01)),
                  seed=int(cfg_get(cfg, "shuffle_seed", 0)))
  docs_cache = {}

  def tokenized():
    if "docs" not in docs_cache:
      docs_cache["docs"] = [[tokenize(s) for s in doc] for doc in read_documents(data_dir,
                                                                                  sources)]
    return docs_cache["docs"]

  files = {f: file_sha256(data_dir / f) if (data_dir / f).is_file() else f
           for s in sources for f in SOURCE_FILES.get(s, ())}
  key = dict(settings, files=files)
  vocab = Vocab(tuple(cached_json("bert_vocab", key, lambda: list(Vocab.build(
      (s for doc in tokenized() for s in doc), settings["min_freq"],
      settings["max_vocab"]).tokens))))

  def build():
    ids = [[vocab.encode(s) for s in doc] for doc in tokenized()]
    arrays = bert_examples(ids, settings["max_len"], settings["seed"])
    n = len(arrays["tokens"])
    valid = np.random.default_rng([settings["seed"], 1]).random(n) < settings["valid_fraction"]
    out = {f"train/{k}": v[~valid] for k, v in arrays.items()}
    out.update({f"valid/{k}": v[valid] for k, v in arrays.items()})
    return out

  flat = cached_arrays("bert_examples", key, build)
  splits = {s: {k.split("/", 1)[1]: v for k, v in flat.items() if k.startswith(s + "/")}
            for s in ("train", "valid")}
  return vocab, splits


def pretraining_metrics(mlm_logits, nsp_logits, targets, weights, batch) -> dict:
  mlm_logits = mlm_logits.astype(jnp.float32)
  nsp_logits = nsp_logits.astype(jnp.float32)
  nll = jax.nn.logsumexp(mlm_logits, -1) - jnp.take_along_axis(mlm_logits, targets[..., None],
                                                               -1)[..., 0]
  row = batch["mask"][:, None]
  hit = (jnp.argmax(mlm_logits, -1) == targets).astype(jnp.float32)
  nsp_w = batch["nsp_weight"] * batch["mask"]
  nsp_nll = jax.nn.logsumexp(nsp_logits, -1) - jnp.take_along_axis(
      nsp_logits, batch["nsp_label"][:, None], -1)[:, 0]
  nsp_hit = (jnp.argmax(nsp_logits, -1) == batch["nsp_label"]).astype(jnp.float32)
  return {"mlm_loss": Average.from_values(nll, weights * row),
          "mlm_accuracy": Average.from_values(hit, weights * row),
          "nsp_loss": Average.from_values(nsp_nll, nsp_w),
          "nsp_accuracy": Average.from_values(nsp_hit, nsp_w)}


def make_task(config) -> Task:
  mesh = mesh_lib.mesh_from_config(config.mesh, 0)
  mesh_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  vocab, splits = build_corpus(config.data)
  batches = TrainLoader(splits["train"], config.train.batch_size,
                        int(cfg_get(config.data, "shuffle_seed", config.seed)))
  settings = LoopSettings.from_config(config, batches.steps_per_epoch)
  model_cfg = dict(config.model.to_dict(), vocab_size=len(vocab))
  if int(model_cfg.get("max_len", 128)) < int(cfg_get(config.data, "max_len", 64)):
    raise ConfigError(f"model.max_len={model_cfg['max_len']} is shorter than the examples "
                      f"(data.max_len={cfg_get(config.data, 'max_len', 64)}).")
  model = build_model(model_cfg, len(vocab))
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  rate = float(cfg_get(config.data, "mask_rate", 0.15))

  def init(rng):
    init_key, train_key = jax.random.split(rng)
    sample = jnp.asarray(splits["train"]["tokens"][:2])
    params = model.init({"params": init_key}, sample, sample * 0)["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx)

  width = splits["train"]["tokens"].shape[1]
  num_predictions = int(mask_counts(np.asarray([width]), rate)[0][0])  # the most chosen in a row

  def corrupt(key, batch):
    """(inputs, positions, targets, weights): the corrupted rows, and the `num_predictions`
    positions per row where the MLM head runs (the chosen ones first, then others at weight 0),
    with their original tokens and weights."""
    tokens = batch["tokens"]
    inputs, targets, weights = mask_tokens(key, tokens, tokens >= FIRST_ORDINARY, len(vocab),
                                           rate)
    positions = jnp.argsort(-weights, axis=1, stable=True)[:, :num_predictions]
    take = lambda a: jnp.take_along_axis(a, positions, axis=1)  # noqa: E731
    return inputs, positions, take(targets), take(weights)

  def loss_fn(params, state, batch, rngs):
    inputs, positions, targets, weights = corrupt(rngs["mask"], batch)
    mlm, nsp = model.apply({"params": params}, inputs, batch["segments"], train=True,
                           positions=positions, rngs={"dropout": rngs["dropout"]})
    m = pretraining_metrics(mlm, nsp, targets, weights, batch)
    loss = (m["mlm_loss"].total / jnp.maximum(m["mlm_loss"].count, 1.0)
            + m["nsp_loss"].total / jnp.maximum(m["nsp_loss"].count, 1.0))
    return loss, {"metrics": m}

  eval_key = jax.random.key(int(config.seed) + 7)

  def eval_step(state, batch):
    inputs, positions, targets, weights = corrupt(
        jax.random.fold_in(eval_key, batch["tokens"][0, 1]), batch)
    mlm, nsp = model.apply({"params": state.eval_params()}, inputs, batch["segments"],
                           positions=positions)
    return PackedAverages.pack(pretraining_metrics(mlm, nsp, targets, weights, batch))

  eval_step = compile_eval_step(eval_step, mesh)
  specs = config.get("evals", None)
  every = int(cfg_get(config.train, "eval_every", 0)) or batches.steps_per_epoch
  specs = ({k: v.to_dict() for k, v in specs.items()} if specs else
           {"eval": {"type": "metrics", "split": "valid", "every": every, "at_end": False},
            "test": {"type": "metrics", "split": "valid", "at_end": True}})
  for name, spec in specs.items():
    if spec.get("split") not in splits:
      raise ConfigError(f"evals.{name}.split={spec.get('split')!r}; the pretraining corpus has "
                        f"the splits 'train' and 'valid'.")
  evaluators = parse_evals(specs, {"metrics": lambda name, spec: split_metrics(
      eval_step, splits[spec["split"]], int(cfg_get(config.eval, "batch_size", 256)), mesh)})
  n_pairs = int(splits["train"]["nsp_weight"].sum())
  return Task(config=config, mesh=mesh, init=init,
              train_step=make_train_step(loss_fn, streams=DEFAULT_STREAMS + ("mask",)),
              batches=batches, evaluators=evaluators, steps_per_epoch=batches.steps_per_epoch,
              plot_metrics=("mlm_loss", "mlm_accuracy", "nsp_accuracy"),
              assets={"vocab.json": vocab.to_json()},
              summary={"data": f"{', '.join(cfg_get(config.data, 'sources', SOURCES))}: "
                               f"{len(splits['train']['tokens'])} train examples ({n_pairs} "
                               f"sentence pairs) / {len(splits['valid']['tokens'])} valid, "
                               f"vocabulary {len(vocab)}; {batches.steps_per_epoch} steps/epoch, "
                               f"{settings.num_steps} steps"})
