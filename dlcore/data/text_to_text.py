"""Text-to-text tasks with task prefixes (T5, ARC-25 / GEN-8): every task is a pair (input text,
output text) for one encoder-decoder, the task named by a prefix on the input.

  translate  "translate german to english : <Multi30k de>"  ->  "<Multi30k en>"
  sst2       "sst2 sentence : <SST-2 sentence>"             ->  "negative" | "positive"

Data config keys (besides data_dir):
  tasks                  the tasks trained on, a subset of TASKS
  max_examples_per_task  T5's examples-proportional mixing with the limit K: a task with more
                         than K train examples contributes a fixed random K of them (0: all)
  min_freq, max_vocab    the shared vocabulary: tokens of every task's train split (inputs and
                         outputs, prefixes included) seen >= min_freq times. It is built from
                         all TASKS whichever are trained, so single-task and multitask models
                         share one vocabulary and their shapes match
  max_length, truncate   as Multi30k's (truncate applies to the train splits)

Splits (columns as `dlcore.data.multi30k`): 'train' and 'val' hold the trained tasks, shuffled
together by the loader; 'val' is Multi30k val plus `SST2_VAL` SST-2 train phrases held out of
training. The evaluation splits always exist: 'test_2016_flickr' (translation) and 'sst2_dev'
(the 872 dev sentences). A `ParallelData` with src_vocab is tgt_vocab (shared); its
`references` are the target token lists ('positive' / 'negative' for SST-2).
"""

from __future__ import annotations

import numpy as np

from dlcore.config import cfg_get
from dlcore.data.base import resolve_data_dir
from dlcore.data.multi30k import ParallelData, encode_pairs
from dlcore.data.text import (MULTI30K_SPLITS, Vocab, cached_arrays, cached_json, file_sha256,
                              make_tokenizer, read_parallel, read_sst2)
from dlcore.errors import ConfigError

PREFIXES = {"translate": "translate german to english :", "sst2": "sst2 sentence :"}
TASKS = tuple(PREFIXES)
LABEL_WORDS = ("negative", "positive")
SST2_VAL = 1000
EVAL_SPLITS = {"test_2016_flickr": "translate", "sst2_dev": "sst2"}


def _task_pairs(data_dir, tokenize, seed: int) -> dict:
  """{task: {split: (input token lists, output token lists, source line texts)}}."""
  out = {"translate": {}, "sst2": {}}
  prefix = {t: tokenize(p) for t, p in PREFIXES.items()}
  for split in MULTI30K_SPLITS:
    de, en = read_parallel(data_dir, split, "de", "en")
    out["translate"][split] = ([prefix["translate"] + tokenize(x) for x in de],
                               [tokenize(y) for y in en], de)
  for split in ("train", "dev"):
    sents, labels = read_sst2(data_dir, split)
    xs = [prefix["sst2"] + tokenize(s) for s in sents]
    ys = [[LABEL_WORDS[int(y)]] for y in labels]
    out["sst2"][split] = (xs, ys, sents)
  xs, ys, sents = out["sst2"]["train"]
  held = np.zeros(len(xs), bool)
  held[np.random.default_rng([seed, 3]).permutation(len(xs))[:SST2_VAL]] = True
  pick = lambda keep: tuple([v[i] for i in np.flatnonzero(keep)] for v in (xs, ys, sents))  # noqa: E731
  out["sst2"]["train"], out["sst2"]["val"] = pick(~held), pick(held)
  out["sst2"]["sst2_dev"] = out["sst2"].pop("dev")
  return out


def load_text_to_text(cfg) -> ParallelData:
  tasks = tuple(cfg_get(cfg, "tasks", TASKS))
  bad = [t for t in tasks if t not in TASKS]
  if bad or not tasks:
    raise ConfigError(f"data.tasks={list(tasks)!r}: the text-to-text tasks are "
                      f"{', '.join(TASKS)} (at least one).")
  data_dir = resolve_data_dir(cfg)
  seed = int(cfg_get(cfg, "shuffle_seed", 0))
  limit = int(cfg_get(cfg, "max_examples_per_task", 0))
  max_length = int(cfg_get(cfg, "max_length", 60))
  truncate = bool(cfg_get(cfg, "truncate", False))
  min_freq, max_vocab = int(cfg_get(cfg, "min_freq", 2)), int(cfg_get(cfg, "max_vocab", 0))
  tokenize = make_tokenizer("word", lower=True)
  pairs = _task_pairs(data_dir, tokenize, seed)
  files = sorted(str(p) for p in (data_dir / "multi30k").glob("*.gz")) + [
      str(data_dir / "sst2" / f"{s}.tsv") for s in ("train", "dev")]
  key = dict(files=[file_sha256(p) for p in files], min_freq=min_freq, max_vocab=max_vocab,
             max_length=max_length, truncate=truncate, seed=seed)
  vocab = Vocab(tuple(cached_json("text_to_text_vocab", key, lambda: list(Vocab.build(
      (tokens for task in TASKS for side in (0, 1) for tokens in pairs[task]["train"][side]),
      min_freq, max_vocab).tokens))))

  def encode(task, split):
    xs, ys, text = pairs[task][split]

    def describe(i, side):
      return (f"{task} {split} example {i + 1} ({'input' if side == 0 else 'output'} of "
              f"{text[i][:60]!r}...)")
    return cached_arrays(f"text_to_text_{task}_{split}", dict(key, task=task, split=split),
                         lambda: encode_pairs(xs, ys, vocab, vocab, max_length,
                                              truncate and split == "train", describe))

  def mix(split):
    parts = []
    for task in tasks:
      cols = encode(task, split)
      n = len(cols["src"])
      if split == "train" and limit and n > limit:
        keep = np.sort(np.random.default_rng([seed, 4, TASKS.index(task)]).permutation(n)[:limit])
        cols = {k: v[keep] for k, v in cols.items()}
      parts.append(cols)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

  splits = {"train": mix("train"), "val": mix("val")}
  refs = {}
  for split, task in EVAL_SPLITS.items():
    splits[split] = encode(task, split)
    refs[split] = pairs[task][split][1]
  return ParallelData(splits, vocab, vocab, refs, max_length + 1)
