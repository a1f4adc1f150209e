"""Machine translation (ARC-21, GEN-6; exercise 002 §11.2.4): a seq2seq GRU encoder-decoder,
with no attention, Bahdanau or Luong attention (`model.attention`), trained with teacher forcing
on Multi30k de->en and scored by corpus BLEU of its decoded test translations.

Data (`data.name`): 'multi30k' (`dlcore.data.multi30k`): lowercased word tokens, one
vocabulary per side (train tokens seen >= data.min_freq times); or 'text_to_text'
(`dlcore.data.text_to_text`): T5's prefixed tasks (translation and SST-2 as text) with one
shared vocabulary. Batches of pairs of similar length (`data.buckets`). The two vocabularies
are run assets (src_vocab.json, tgt_vocab.json).
Loss: the mean cross-entropy over the real target tokens (y_1 .. y_n <eos>).

Evaluator types for `config.evals`:
  metrics    teacher-forced loss, token accuracy and perplexity over a split;
  bleu       decode every source sentence of a split (`decode`: 'greedy' or 'beam' with
             `beam_size`, `length_penalty` α of lp = ((5+|Y|)/6)^α; at most `max_length` tokens,
             stopping at <eos>), then BLEU two ways: `bleu`, corpus BLEU-4 x 100 on the
             lowercased word tokens against the tokenized reference (the anchors' figure), and
             `sacrebleu` on the detokenized text through sacreBLEU (13a tokenizer, lowercased:
             the model writes lowercase), with its signature; plus `logprob` (mean model
             log-probability of the output sentences) and `mean_length`;
  match      decode a split as `bleu` does; `accuracy`, the fraction of outputs equal to the
             reference (a class label written as text, as T5 classifies), and `valid_output`,
             the fraction that is one of the split's reference outputs at all;
  attention  heatmaps of α_ij for the first `examples` sentences of a split (PNG, in
             <workdir>/attention/).
"""

from __future__ import annotations

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.config import cfg_get
from dlcore.data.loader import eval_batches
from dlcore.data.multi30k import load_parallel
from dlcore.data.text import BucketLoader
from dlcore.data.text_to_text import load_text_to_text
from dlcore.decode import beam_search, greedy_decode
from dlcore.errors import ConfigError
from dlcore.evals import parse_evals, split_metrics
from dlcore.metrics import Average, PackedAverages
from dlcore.metrics.bleu import corpus_bleu
from dlcore.metrics.perplexity import Perplexity
from dlcore.metrics.sacrebleu_score import sacrebleu_corpus
from dlcore.models import build_model
from dlcore.optim import build_optimizer
from dlcore.train import mesh as mesh_lib
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import compile_eval_step, make_train_step
from dlcore.train.task import Task
from dlcore.viz.attention import plot_attention


LOADERS = {"multi30k": load_parallel, "text_to_text": load_text_to_text}


def token_metrics(logits, targets, label_smoothing: float = 0.0) -> dict:
  """Loss, token accuracy and perplexity over the non-padding targets (id 0 is padding).

  With `label_smoothing` ls > 0 a 'smoothed_loss' is added: the cross-entropy against
  (1 - ls) one_hot + ls / V, computed as (1 - ls) nll + ls (logsumexp - mean logit) without
  forming the (B, T, V) targets. 'loss' and 'perplexity' stay the plain negative log-likelihood.
  """
  logits = logits.astype(jnp.float32)
  weight = (targets != 0).astype(jnp.float32)
  lse = jax.nn.logsumexp(logits, -1)
  nll = lse - jnp.take_along_axis(logits, targets[..., None], -1)[..., 0]
  correct = (jnp.argmax(logits, -1) == targets).astype(jnp.float32)
  metrics = {"loss": Average.from_values(nll, weight),
             "accuracy": Average.from_values(correct, weight),
             "perplexity": Perplexity.from_nll(nll, weight)}
  if label_smoothing:
    uniform = lse - logits.mean(-1)
    metrics["smoothed_loss"] = Average.from_values(
        (1.0 - label_smoothing) * nll + label_smoothing * uniform, weight)
  return metrics


def make_task(config) -> Task:
  mesh = mesh_lib.mesh_from_config(config.mesh, 0)
  mesh_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  loader = str(cfg_get(config.data, "name", "multi30k"))
  if loader not in LOADERS:
    raise ConfigError(f"data.name={loader!r}; the translation trainer reads "
                      f"{', '.join(LOADERS)}.")
  data = LOADERS[loader](config.data)
  train = data.splits["train"]
  batches = BucketLoader(dict(train), train["lengths"], config.train.batch_size,
                         int(cfg_get(config.data, "shuffle_seed", config.seed)),
                         tuple(config.data.buckets), seq_keys=("src", "tgt_in", "tgt_out"))
  settings = LoopSettings.from_config(config, batches.steps_per_epoch)
  model = build_model(dict(config.model.to_dict(), src_vocab_size=len(data.src_vocab)),
                      len(data.tgt_vocab))
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  eos, bos = data.tgt_vocab.eos_id, data.tgt_vocab.bos_id
  label_smoothing = float(cfg_get(cfg_get(config, "loss", {}), "label_smoothing", 0.0))
  if not 0.0 <= label_smoothing < 1.0:
    raise ConfigError(f"loss.label_smoothing={label_smoothing}; it must be in [0, 1).")

  def init(rng):
    init_key, train_key = jax.random.split(rng)
    sample = jnp.ones((2, 8), jnp.int32)
    params = model.init({"params": init_key}, sample, sample)["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx)

  def loss_fn(params, state, batch, rngs):
    logits = model.apply({"params": params}, batch["src"], batch["tgt_in"], train=True,
                         rngs={"dropout": rngs["dropout"]})
    metrics = token_metrics(logits, batch["tgt_out"], label_smoothing)
    objective = metrics["smoothed_loss" if label_smoothing else "loss"]
    loss = objective.total / jnp.maximum(objective.count, 1.0)
    return loss, {"metrics": {k: metrics[k] for k in ("loss", "accuracy")}}

  def eval_step(state, batch):
    logits = model.apply({"params": state.eval_params()}, batch["src"], batch["tgt_in"])
    return PackedAverages.pack(token_metrics(logits, batch["tgt_out"]))

  eval_step = compile_eval_step(eval_step, mesh)
  max_out = int(cfg_get(config.data, "max_length", 60)) + 1

  def step_fn(variables):
    return lambda carry, tokens: model.apply(variables, carry, tokens, method=model.step)

  def logprob_of(variables, carry, tokens):
    """Σ_t log p(y_t | y_<t, x) of output rows (B, T), up to and including the first <eos>."""
    inputs = jnp.concatenate([jnp.full((tokens.shape[0], 1), bos, jnp.int32), tokens[:, :-1]],
                             1)
    _, logits = jax.lax.scan(step_fn(variables), carry, inputs.T)  # (T, B, V)
    lp = jnp.take_along_axis(jax.nn.log_softmax(jnp.swapaxes(logits, 0, 1).astype(
        jnp.float32)), tokens[..., None], -1)[..., 0]
    ended = jnp.cumsum(tokens == eos, axis=1) - (tokens == eos)  # steps after the first <eos>
    return jnp.where(ended > 0, 0.0, lp).sum(1)

  def make_decoder(how: str, beam_size: int, alpha: float):
    @jax.jit
    def decode(state, src):
      variables = {"params": state.eval_params()}
      carry = model.apply(variables, src, method=model.encode)
      start = jnp.full((src.shape[0],), bos, jnp.int32)
      if how == "greedy":
        tokens = greedy_decode(step_fn(variables), carry, start, max_out, eos)
      else:
        tokens = beam_search(step_fn(variables), carry, start, max_out, beam_size, eos,
                             alpha).tokens[:, 0]
      return tokens, logprob_of(variables, carry, tokens)
    return decode

  batch_size = int(cfg_get(config.eval, "batch_size", 128))

  def translator(name, spec):
    """run(state) -> (output token lists, their log-probabilities) for split `spec['split']`."""
    how = spec.get("decode", "greedy")
    if how not in ("greedy", "beam"):
      raise ConfigError(f"evals.{name}.decode={how!r}; use 'greedy' or 'beam'.")
    decode = make_decoder(how, int(spec.get("beam_size", 5)), float(spec.get("length_penalty",
                                                                              0.0)))
    split = data.splits[spec["split"]]

    def run(state):
      hyps, lps = [], []
      for b in eval_batches({"src": split["src"]}, batch_size):
        tokens, lp = jax.device_get(decode(state, jnp.asarray(b["src"])))
        keep = np.asarray(b["mask"]) > 0
        hyps += [data.tgt_vocab.decode(t) for t in np.asarray(tokens)[keep]]
        lps += list(np.asarray(lp)[keep])
      return hyps, lps

    return run

  def bleu(name, spec):
    translate = translator(name, spec)
    refs = data.references[spec["split"]]

    def run(state, args, workdir=None):
      hyps, lps = translate(state)
      out = {"bleu": 100.0 * corpus_bleu(hyps, refs),
             **sacrebleu_corpus([" ".join(h) for h in hyps], [" ".join(r) for r in refs],
                                lowercase=True),
             "logprob": float(np.mean(lps)), "mean_length": float(np.mean([len(h) for h in hyps])),
             "num_examples": len(hyps)}
      if workdir is not None:
        path = pathlib.Path(workdir) / f"translations_{name}.txt"
        path.write_text("\n".join(" ".join(h) for h in hyps) + "\n", encoding="utf-8")
      return out

    return run

  def match(name, spec):
    translate = translator(name, spec)
    refs = data.references[spec["split"]]
    outputs = {tuple(r) for r in refs}

    def run(state, args, workdir=None):
      hyps, _ = translate(state)
      return {"accuracy": float(np.mean([h == r for h, r in zip(hyps, refs)])),
              "valid_output": float(np.mean([tuple(h) in outputs for h in hyps])),
              "num_examples": len(hyps)}

    return run

  def attention(name, spec):
    split, n = data.splits[spec["split"]], int(spec.get("examples", 4))
    decode = make_decoder("greedy", 1, 0.0)

    def run(state, args, workdir):
      if model.attention == "none":
        return {"note": "this model has no attention"}
      variables = {"params": state.eval_params()}
      src = jnp.asarray(split["src"][:n])
      tokens, _ = decode(state, src)
      inputs = jnp.concatenate([jnp.full((n, 1), bos, jnp.int32), tokens[:, :-1]], 1)
      _, alpha = model.apply(variables, src, inputs, return_attention=True)
      out_dir = pathlib.Path(workdir) / "attention"
      out_dir.mkdir(parents=True, exist_ok=True)
      paths = []
      for i in range(n):
        s = data.src_vocab.decode(np.asarray(src[i]))
        t = data.tgt_vocab.decode(np.asarray(tokens[i]))
        weights = np.asarray(alpha[i])[:len(t) + 1, :len(s)]
        t = t + ["<eos>"] if len(t) < tokens.shape[1] else t
        paths.append(str(plot_attention(weights[:len(t)], s, t, out_dir / f"{name}_{i}.png")))
      (out_dir / f"{name}.json").write_text(json.dumps(paths, indent=1))
      return {"pictures": len(paths)}

    return run

  every = int(cfg_get(config.train, "eval_every", 0)) or batches.steps_per_epoch
  specs = config.get("evals", None)
  specs = ({k: v.to_dict() for k, v in specs.items()} if specs else {
      "eval": {"type": "metrics", "split": "val", "every": every, "at_end": False},
      "test": {"type": "metrics", "split": "test_2016_flickr"},
      "greedy": {"type": "bleu", "split": "test_2016_flickr", "decode": "greedy"},
      "beam": {"type": "bleu", "split": "test_2016_flickr", "decode": "beam", "beam_size": 5},
      "heatmaps": {"type": "attention", "split": "test_2016_flickr", "examples": 4}})
  for name, spec in specs.items():
    if spec.get("split") not in data.splits:
      raise ConfigError(f"evals.{name}.split={spec.get('split')!r}; Multi30k has the splits "
                        f"{', '.join(data.splits)}.")
  factories = {
      "metrics": lambda name, spec: split_metrics(eval_step, data.splits[spec["split"]],
                                                  int(config.eval.batch_size), mesh),
      "bleu": bleu, "match": match, "attention": attention}
  evaluators = parse_evals(specs, factories,
                           options={"bleu": ("decode", "beam_size", "length_penalty"),
                                    "match": ("decode", "beam_size", "length_penalty"),
                                    "attention": ("examples",)},
                           writes_files=("attention",))
  pairs = (f"{cfg_get(config.data, 'src', 'de')}->{cfg_get(config.data, 'tgt', 'en')}"
           if loader == "multi30k" else "+".join(cfg_get(config.data, "tasks", ())))
  return Task(config=config, mesh=mesh, init=init, train_step=make_train_step(loss_fn),
              batches=batches, evaluators=evaluators, steps_per_epoch=batches.steps_per_epoch,
              plot_metrics=("loss", "accuracy", "perplexity", "bleu"),
              assets={"src_vocab.json": data.src_vocab.to_json(),
                      "tgt_vocab.json": data.tgt_vocab.to_json()},
              summary={"data": f"{loader} {pairs}: "
                               + ", ".join(f"{s}={len(v['src'])}" for s, v in data.splits.items())
                               + f"; vocabularies {len(data.src_vocab)} / {len(data.tgt_vocab)};"
                               f" {batches.steps_per_epoch} steps/epoch, {settings.num_steps} "
                               f"steps"})

