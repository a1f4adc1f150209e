"""Language modelling (ARC-17; project 002 §11.3 "text generation system"): an RNN/LSTM/GRU
language model trained with truncated BPTT on one text, scored by nats per token on the
held-out split, and (evaluator 'generate') continuing held-out prompts with greedy search,
sampling and beam search.

Data (`config.data`): name 'tinyshakespeare' (tinyshakespeare/input.txt in the data dir) or
'text' with `path` (any UTF-8 file); `tokenizer` char/word/bpe (bpe_vocab_size), `min_freq`;
`train_fraction` (0.9: the first 90% of the characters train, the rest is the 'valid' split);
`seq_len` L, the BPTT length. The vocabulary is built on the train split and kept as the run
asset vocab.json.

Training: each step reads the next L tokens of B parallel streams (`TokenStream`); the final
recurrent state of a batch is the initial state of the next (kept in `state.extra['carry']`,
stop-gradiented: truncated BPTT, LAY-43), and restarts from zero at each epoch. The loss is the
mean NLL per token; gradient clipping by global norm comes from `optimizer.grad_clip_norm`.

Evaluator types for `config.evals`:
  nll       every target token of a split once, with the state carried through the split
            (`stream_chunks`): nats_per_token = Σ NLL / N (MET-12), bits_per_token =
            nats / ln 2, perplexity = exp(nats_per_token), accuracy (next-token argmax).
  generate  `dlcore.evals.generation`: keys num_prompts, prompt_length, length, temperatures,
            top_k, top_p, beam_size, length_penalty, samples.
  attention a Transformer's self-attention heatmaps (ROB-5): the first `length` tokens of the
            split, every head of layer `layer` (-1: the last) as
            <workdir>/attention/<name>_layer<l>_head<h>.png.
"""

from __future__ import annotations

import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.config import cfg_get
from dlcore.data.base import resolve_data_dir
from dlcore.data.text import (Vocab, cached_arrays, cached_json, file_sha256, make_tokenizer,
                              read_text, read_tiny_shakespeare, split_text)
from dlcore.data.text.streams import TokenStream, stream_chunks
from dlcore.errors import ConfigError, DataError
from dlcore.evals import parse_evals
from dlcore.evals.generation import generation_evaluator
from dlcore.metrics import Average, PackedAverages, compute, merge_all
from dlcore.models import build_model
from dlcore.nn.transformer import check_length
from dlcore.optim import build_optimizer
from dlcore.train import mesh as mesh_lib
from dlcore.train.loop import LoopSettings
from dlcore.train.state import TrainState
from dlcore.train.step import make_train_step
from dlcore.train.task import Task
from dlcore.viz.attention import plot_attention


def read_corpus(cfg) -> tuple[str, str]:
  """(text, where it came from) of data.name 'tinyshakespeare' or 'text' (data.path)."""
  name = cfg_get(cfg, "name", "tinyshakespeare")
  if name == "tinyshakespeare":
    data_dir = resolve_data_dir(cfg)
    return read_tiny_shakespeare(data_dir), str(data_dir / "tinyshakespeare" / "input.txt")
  if name == "text":
    path = str(cfg_get(cfg, "path", ""))
    if not path:
      raise ConfigError("data.name='text' needs data.path, the UTF-8 text file to model.")
    return read_text(path, "Text file"), path
  raise ConfigError(f"data.name={name!r} is not a text corpus; use 'tinyshakespeare' or 'text' "
                    f"(with data.path).")


def encode_corpus(cfg):
  """(vocab, {'train': ids, 'valid': ids}, tokenizer, detokenize) of the config's text, cached
  by the file's content and the settings."""
  text, source = read_corpus(cfg)
  kind = str(cfg_get(cfg, "tokenizer", "char"))
  fraction = float(cfg_get(cfg, "train_fraction", 0.9))
  train_text, valid_text = split_text(text, fraction)
  tokenize = make_tokenizer(kind, texts=[train_text] if kind == "bpe" else None,
                            vocab_size=int(cfg_get(cfg, "bpe_vocab_size", 8000)))
  key = dict(file=file_sha256(source), tokenizer=kind, train_fraction=fraction,
             min_freq=int(cfg_get(cfg, "min_freq", 1)),
             bpe_vocab_size=int(cfg_get(cfg, "bpe_vocab_size", 8000)))
  vocab = Vocab(tuple(cached_json("lm_vocab", key, lambda: list(Vocab.build(
      [tokenize(train_text)], int(cfg_get(cfg, "min_freq", 1))).tokens))))
  ids = cached_arrays("lm_ids", key, lambda: {
      "train": np.asarray(vocab.encode(tokenize(train_text)), np.int32),
      "valid": np.asarray(vocab.encode(tokenize(valid_text)), np.int32)})
  for split, arr in ids.items():
    if len(arr) < 2:
      raise DataError(f"the {split} split of {source} has {len(arr)} tokens; the corpus is too "
                      f"small to model (train_fraction={fraction}).")
  if kind == "bpe":  # pieces carry their end-of-word marks
    detokenize = lambda toks: tokenize.detokenize(vocab.decode(toks, strip_special=False))
  else:
    sep = "" if kind == "char" else " "
    detokenize = lambda toks: sep.join(vocab.decode(toks, strip_special=False))
  return vocab, ids, detokenize


def nll_metrics(logits, targets, weight) -> dict:
  nll = jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, targets[..., None], -1)[..., 0]
  correct = (jnp.argmax(logits, -1) == targets).astype(jnp.float32)
  return {"loss": Average.from_values(nll, weight),
          "accuracy": Average.from_values(correct, weight)}


def make_task(config) -> Task:
  mesh = mesh_lib.mesh_from_config(config.mesh, 0)
  mesh_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  vocab, ids, detokenize = encode_corpus(config.data)
  seq_len = int(cfg_get(config.data, "seq_len", 100))
  batches = TokenStream(ids["train"], config.train.batch_size, seq_len,
                        int(cfg_get(config.data, "shuffle_seed", config.seed)),
                        shuffle=bool(cfg_get(config.data, "shuffle", False)))
  settings = LoopSettings.from_config(config, batches.steps_per_epoch)
  model_cfg = dict(config.model.to_dict(), vocab_size=len(vocab))
  model = build_model(model_cfg, len(vocab))
  tx, _ = build_optimizer(config.optimizer, settings.num_steps)
  batch_size = int(config.train.batch_size)

  def init(rng):
    init_key, train_key = jax.random.split(rng)
    params = model.init({"params": init_key}, jnp.zeros((2, seq_len), jnp.int32))["params"]
    return TrainState.create(rng=train_key, params=params, tx=tx,
                             extra={"carry": model.zero_carries(batch_size)})

  def loss_fn(params, state, batch, rngs):
    keep = 1.0 - batch["reset"]  # an epoch's first batch starts from h_0 = 0
    carry = jax.tree.map(lambda c: c * keep[:, None], state.extra["carry"])
    logits, carry = model.apply({"params": params}, batch["inputs"], carry, train=True,
                                rngs={"dropout": rngs["dropout"]})
    metrics = nll_metrics(logits.astype(jnp.float32), batch["targets"],
                          jnp.ones(batch["targets"].shape, jnp.float32))
    loss = metrics["loss"].total / metrics["loss"].count  # the mean NLL per token
    return loss, {"metrics": metrics, "extra": {"carry": carry}}

  @jax.jit
  def chunk_step(params, carry, chunk):
    logits, carry = model.apply({"params": params}, chunk["inputs"], carry, train=False)
    return carry, PackedAverages.pack(nll_metrics(logits.astype(jnp.float32), chunk["targets"],
                                                  chunk["weight"]))

  def nll(name, spec):
    split_ids = ids[spec["split"]]
    eval_batch = int(spec.get("batch_size", cfg_get(config.eval, "batch_size", 64)))

    def run(state, args, workdir=None):
      params, carry, parts = state.eval_params(), model.zero_carries(eval_batch), []
      for chunk in stream_chunks(split_ids, eval_batch, seq_len):
        carry, m = chunk_step(params, carry, chunk)
        parts.append(m)
      out = compute(merge_all(parts))
      nats = out.pop("loss")
      return {"nats_per_token": nats, "bits_per_token": nats / math.log(2),
              "perplexity": math.exp(nats), "accuracy": out["accuracy"],
              "num_tokens": int(len(split_ids) - 1)}

    return run

  def generate(name, spec):
    p_len = int(spec.get("prompt_length", 100))
    length = int(spec.get("length", 200))
    n = int(spec.get("num_prompts", 16))
    valid = ids[spec["split"]]
    span = p_len + length
    if len(valid) < n * span:
      raise DataError(f"the {spec['split']} split has {len(valid)} tokens, fewer than "
                      f"{n} prompts x ({p_len} + {length}); lower evals.{name}.num_prompts.")
    if getattr(model, "max_len", 0):  # a Transformer's caches hold the whole generation
      check_length(span - 1, model.max_len, "generation (prompt + new tokens)")
    starts = np.linspace(0, len(valid) - span, n).astype(int)
    windows = np.stack([valid[s:s + span] for s in starts])

    def prime(state, prompts):
      variables = {"params": state.eval_params()}
      carry = model.apply(variables, prompts[:, :-1], span - 1, method=model.prime)
      return carry, prompts[:, -1]

    def step(state):
      variables = {"params": state.eval_params()}
      return lambda carry, tokens: model.apply(variables, carry, tokens, method=model.step)

    return generation_evaluator(
        prime, step, windows[:, :p_len], windows[:, p_len:], detokenize,
        tuple(spec.get("temperatures", (0.5, 1.0))), int(spec.get("top_k", 0)),
        float(spec.get("top_p", 1.0)), int(spec.get("beam_size", 5)),
        float(spec.get("length_penalty", 0.0)), int(spec.get("samples", 3)))

  def attention(name, spec):
    if not hasattr(model, "attention_maps"):
      raise ConfigError(f"evals.{name}: attention heatmaps need a Transformer (model.name="
                        f"'gpt'); {config.model.name!r} has no attention.")
    length = int(spec.get("length", 32))
    check_length(length, model.max_len, f"evals.{name} window")
    tokens = jnp.asarray(ids[spec["split"]][None, :length])
    labels = [repr(detokenize([int(t)]))[1:-1] for t in np.asarray(tokens[0])]

    def run(state, args, workdir):
      _, weights = model.apply({"params": state.eval_params()}, tokens,
                               method=model.attention_maps)
      layer = int(spec.get("layer", -1)) % len(weights)
      out_dir = pathlib.Path(workdir) / "attention"
      heads = np.asarray(weights[layer][0])
      for h, w in enumerate(heads):
        plot_attention(w, labels, labels, out_dir / f"{name}_layer{layer}_head{h}.png",
                       axes=("key (attended token)", "query"),
                       title=f"self-attention, layer {layer}, head {h}")
      return {"pictures": len(heads)}

    return run

  every = int(cfg_get(config.train, "eval_every", 0)) or batches.steps_per_epoch
  specs = config.get("evals", None)
  specs = ({k: v.to_dict() for k, v in specs.items()} if specs else
           {"eval": {"type": "nll", "split": "valid", "every": every, "at_end": False},
            "test": {"type": "nll", "split": "valid", "at_end": True}})
  for name, spec in specs.items():
    if spec.get("split", "valid") not in ids:
      raise ConfigError(f"evals.{name}.split={spec.get('split')!r}; a text corpus has the "
                        f"splits 'train' and 'valid'.")
  evaluators = parse_evals(specs, {"nll": nll, "generate": generate, "attention": attention},
                           options={"nll": ("batch_size",),
                                    "generate": ("num_prompts", "prompt_length", "length",
                                                 "temperatures", "top_k", "top_p", "beam_size",
                                                 "length_penalty", "samples"),
                                    "attention": ("length", "layer")},
                           writes_files=("generate", "attention"))
  return Task(config=config, mesh=mesh, init=init, train_step=make_train_step(loss_fn),
              batches=batches, evaluators=evaluators, steps_per_epoch=batches.steps_per_epoch,
              plot_metrics=("loss", "nats_per_token", "accuracy"),
              assets={"vocab.json": vocab.to_json()},
              summary={"data": f"{cfg_get(config.data, 'name', '')}: {len(ids['train'])} train "
                               f"/ {len(ids['valid'])} valid tokens, vocabulary {len(vocab)}; "
                               f"{batches.steps_per_epoch} steps/epoch of {batch_size} x "
                               f"{seq_len}, {settings.num_steps} steps"})
