"""Word vectors (ARC-37..40; LOSS-19, LOSS-20) on the local English text
(`dlcore.data.text.word_corpus`: Tiny Shakespeare, SST-2 phrases, Multi30k English; vocabulary
of `data.min_count`, frequent-word subsampling with t = `data.subsample`):

- word2vec (`model.name='skipgram'`, `dlcore.models.skipgram`): `model.variant` 'skipgram'
  (predict each context word from the centre, ARC-37) or 'cbow' (the centre from the mean of its
  context words' vectors, ARC-38), on window examples regenerated every epoch
  (`dlcore.data.text.word_pairs.WindowExamples`: subsampling and the dynamic window drawn anew);
  `loss.name` 'softmax' (the full softmax over the vocabulary, eq. 76) or 'negative_sampling'
  (`loss.negatives` = k draws per example from P_n ∝ count^`loss.noise_power`, eq. 77, drawn
  inside the jitted step: stream 'negatives'); `dlcore.losses.skipgram`.
- GloVe (`model.name='glove'`, ARC-40): the 1/distance-weighted co-occurrence counts within
  `data.window` (`cooccurrence`), batches of non-zero entries reshuffled each epoch, the
  weighted least squares of `dlcore.losses.glove` (`loss.x_max`, `loss.alpha`), averaged over a
  batch; the paper trains it with AdaGrad (lr 0.05), the default here (`optimizer.name`).

The embedding is the centre (input) table u for word2vec and w + w̃ for GloVe. Evaluators
(`config.evals`, `dlcore.evals.word_vectors`):
  'neighbours'  the `k` cosine neighbours of `words` (default: the `count` most frequent
                non-stop-words) as a markdown table, `<workdir>/<name>.md`, printed too; also
                saves the vectors as `<workdir>/word_vectors.npz` (words, vectors);
  'overlap'     overlap@`k` of this run's neighbours with another run's (`other`: its workdir,
                relative to this run's parent folder, e.g. a sibling variant of a comparison;
                '': nothing) over the `count` most frequent non-stop-words;
  'probe'       SST-2 sentiment: averaged word vectors of each sentence -> logistic regression
                (`dlcore.evals.linear_probe`, `C`, `normalize`) fitted on the SST-2 train
                phrases, accuracy on dev, beside a bag-of-words logistic regression on the same
                tokens (`bow_accuracy`) and the share of dev tokens in the vocabulary.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.config import cfg_get
from dlcore.data.base import resolve_data_dir
from dlcore.data.loader import TrainLoader
from dlcore.data.text.corpora import read_sst2
from dlcore.data.text.word_corpus import WordCorpus, load_word_corpus, tokens
from dlcore.data.text.word_pairs import WindowExamples, cooccurrence
from dlcore.errors import ConfigError, DataError
from dlcore.evals import parse_evals
from dlcore.evals.linear_probe import probe_accuracy
from dlcore.evals.word_vectors import (average_vectors, bag_of_words_accuracy, frequent_words,
                                       neighbour_overlap, neighbour_table)
from dlcore.losses.glove import glove_loss
from dlcore.losses.skipgram import (negative_sampling_loss, noise_distribution,
                                    sample_negatives, softmax_skipgram_loss)
from dlcore.metrics import Average
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import mesh as mesh_lib
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import DEFAULT_STREAMS, make_train_step
from dlcore.train.task import Task

LOSSES = ("softmax", "negative_sampling")
OPTIONS = {"neighbours": ("words", "count", "k"), "overlap": ("other", "count", "k"),
           "probe": ("C", "normalize", "max_iter")}
VECTORS_FILE = "word_vectors.npz"


def make_task(config) -> Task:
  corpus = load_word_corpus(config.data)
  name = str(cfg_get(config.model, "name", ""))
  if name == "skipgram":
    return word2vec_task(config, corpus)
  if name == "glove":
    return glove_task(config, corpus)
  raise ConfigError(f"model.name={name!r} is not a word-vector model; valid: skipgram, glove.")


def _state_init(model, tx, example):
  def init(rng):
    init_key, train_key = jax.random.split(rng)
    params = model.init({"params": init_key}, *example)["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx)
  return init


def word2vec_task(config, corpus: WordCorpus) -> Task:
  """Skip-gram or CBOW, full softmax or negative sampling (module docstring)."""
  d, m, loss_cfg = config.data, config.model.to_dict(), config.loss
  variant, loss_name = m.pop("variant", "skipgram"), str(cfg_get(loss_cfg, "name", ""))
  if loss_name not in LOSSES:
    raise ConfigError(f"loss.name={loss_name!r}; valid for word2vec: {', '.join(LOSSES)}.")
  source = WindowExamples(corpus, variant, int(config.train.batch_size),
                          int(cfg_get(d, "window", 5)), float(cfg_get(d, "subsample", 1e-5)),
                          bool(cfg_get(d, "dynamic_window", True)), int(config.seed))
  settings = LoopSettings.from_config(config, source.steps_per_epoch)
  model = build_model(m, len(corpus.words))
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  k = int(cfg_get(loss_cfg, "negatives", 5))
  noise = jnp.asarray(noise_distribution(corpus.counts, float(cfg_get(loss_cfg, "noise_power",
                                                                      0.75))))
  ids = jnp.zeros((1,), jnp.int32)

  def loss_fn(params, state, batch, rngs, noise):
    apply = lambda method, *a: model.apply({"params": params}, *a, method=method)
    if variant == "cbow":
      hidden, target = apply("cbow_hidden", batch["context"], batch["valid"]), batch["centre"]
    else:
      hidden, target = apply("embed", batch["centre"]), batch["context"]
    if loss_name == "softmax":
      loss = softmax_skipgram_loss(apply("output_scores", hidden), target)
    else:
      negatives = sample_negatives(rngs["negatives"], noise, target.shape + (k,))
      scores = apply("output_scores", hidden, jnp.concatenate([target[:, None], negatives], 1))
      loss = negative_sampling_loss(scores[:, 0], scores[:, 1:])
    return loss.mean(), {"metrics": {"loss": Average.from_values(loss)}}

  embed_fn = jax.jit(lambda p: model.apply({"params": p}, jnp.arange(len(corpus.words)),
                                           method="embed"))
  what = (f"word2vec {variant}, {'full softmax' if loss_name == 'softmax' else f'{k} negatives'}"
          f", window {source.window}, subsample t={source.subsample:g}")
  return _task(config, corpus, model, _state_init(model, tx, (ids, ids[:, None])), loss_fn,
               source, (noise,), embed_fn, what)


def glove_task(config, corpus: WordCorpus) -> Task:
  """GloVe's weighted least squares on the co-occurrence counts (module docstring)."""
  window = int(cfg_get(config.data, "window", 10))
  rows, cols, x = cooccurrence(corpus, window)
  if len(x) < int(config.train.batch_size):
    raise DataError(f"The corpus has {len(x)} non-zero co-occurrences, fewer than "
                    f"train.batch_size={config.train.batch_size}; lower it or give more text.")
  source = TrainLoader({"row": rows, "col": cols, "x": x}, int(config.train.batch_size),
                       int(config.seed))
  settings = LoopSettings.from_config(config, source.steps_per_epoch)
  model = build_model(config.model, len(corpus.words))
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  x_max, alpha = float(cfg_get(config.loss, "x_max", 100.0)), float(cfg_get(config.loss,
                                                                            "alpha", 0.75))

  def loss_fn(params, state, batch, rngs):
    prediction = model.apply({"params": params}, batch["row"], batch["col"])
    loss = glove_loss(prediction, batch["x"], x_max, alpha)
    return loss.mean(), {"metrics": {"loss": Average.from_values(loss)}}

  ids = jnp.zeros((1,), jnp.int32)
  embed_fn = jax.jit(lambda p: model.apply({"params": p}, jnp.arange(len(corpus.words)),
                                           method="embed"))
  what = (f"GloVe, window {window}, {len(x)} non-zero X_ij, x_max {x_max:g}, alpha {alpha:g}")
  return _task(config, corpus, model, _state_init(model, tx, (ids, ids)), loss_fn, source, (),
               embed_fn, what)


def _task(config, corpus, model, init, loss_fn, source, args, embed_fn, what) -> Task:
  embed = lambda state: np.asarray(jax.device_get(embed_fn(state.eval_params())))
  evaluators = parse_evals(config.evals, evaluator_factories(config, corpus, embed),
                           options=OPTIONS, writes_files=("neighbours",))
  streams = DEFAULT_STREAMS + (("negatives",) if args else ())
  return Task(config=config, mesh=mesh_lib.mesh_from_config(config.mesh, 1),
              init=init, train_step=make_train_step(loss_fn, streams=streams), batches=source,
              step_args=args, evaluators=evaluators, steps_per_epoch=source.steps_per_epoch,
              plot_metrics=("loss",), assets={"words.txt": "\n".join(corpus.words) + "\n"},
              summary={"data": f"{corpus.name}: {len(corpus.ids)} tokens, {len(corpus.words)} "
                               f"words (min_count {cfg_get(config.data, 'min_count', 5)}); "
                               f"{what}; {source.steps_per_epoch} steps/epoch"})


def evaluator_factories(config, corpus: WordCorpus, embed) -> dict:
  """'neighbours', 'overlap' and 'probe' (module docstring)."""
  def queries(spec):
    return list(spec.get("words", ()) or frequent_words(corpus.words, int(spec.get("count", 50))))

  def neighbours(name, spec):
    def run(state, args, workdir=None):
      emb = embed(state)
      table = neighbour_table(corpus.words, emb, queries(spec), int(spec.get("k", 10)))
      print(f"nearest neighbours ({name}):\n{table}")
      if workdir is None:
        return {}
      path = pathlib.Path(workdir) / f"{name}.md"
      path.write_text(f"# Nearest neighbours (cosine), {config.name}\n\n{table}")
      np.savez(pathlib.Path(workdir) / VECTORS_FILE, words=np.array(corpus.words), vectors=emb)
      return {"table": str(path)}
    return run

  def overlap(name, spec):
    def run(state, args, workdir=None):
      if not spec.get("other"):
        return {}
      other = pathlib.Path(str(spec["other"]))
      if not other.is_absolute():
        other = pathlib.Path(workdir or ".").resolve().parent / other
      path = other / VECTORS_FILE
      if not path.is_file():
        raise DataError(f"evals.{name}: {path} not found; train that run first (with a "
                        "'neighbours' evaluator, which saves the vectors).")
      saved = np.load(path)
      return {"overlap": neighbour_overlap(corpus.words, embed(state), list(saved["words"]),
                                           saved["vectors"], queries(spec),
                                           int(spec.get("k", 10)))}
    return run

  def probe(name, spec):
    cache = {}

    def run(state, args, workdir=None):
      if not cache:
        data_dir = resolve_data_dir(config.data)
        (train, y_train), (dev, y_dev) = read_sst2(data_dir, "train"), read_sst2(data_dir, "dev")
        toks = [tokens(s) for s in train + dev]
        index = corpus.index
        cache["ids"] = [np.array([index[t] for t in s if t in index], np.int64) for s in toks]
        cache["labels"] = np.concatenate([y_train, y_dev])
        cache["split"] = (np.arange(len(train)), np.arange(len(train), len(toks)))
        dev_toks = toks[len(train):]
        cache["coverage"] = float(np.mean([t in index for s in dev_toks for t in s]))
        cache["bow"] = bag_of_words_accuracy(toks[:len(train)], y_train, dev_toks, y_dev,
                                             float(spec.get("C", 1.0)))
      x = average_vectors(embed(state), cache["ids"])
      accuracy = probe_accuracy(x, cache["labels"], *cache["split"],
                                C=float(spec.get("C", 1.0)),
                                normalize=str(spec.get("normalize", "standard")),
                                max_iter=int(spec.get("max_iter", 1000)))
      return {"accuracy": accuracy, "bow_accuracy": cache["bow"], "coverage": cache["coverage"]}
    return run

  return {"neighbours": neighbours, "overlap": overlap, "probe": probe}
