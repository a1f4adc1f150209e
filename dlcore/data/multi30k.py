"""Multi30k (task 1) parallel text for translation: `multi30k/{split}.{de,en}.gz` in the data
dir, split in train (29,000 pairs), val (1,014), test_2016_flickr (1,000).

`load_parallel(cfg)` tokenizes both sides (lowercased words, `word_tokenize`), builds one
vocabulary per side on the train split (tokens seen >= `min_freq` times, `max_vocab` cap) and
returns a `ParallelData`: per split the columns
  src (N, W)     source ids, no <bos>/<eos>
  tgt_in (N, W)  <bos> y_1 .. y_n   (the decoder inputs of teacher forcing)
  tgt_out (N, W) y_1 .. y_n <eos>   (the targets)
  lengths (N,)   max(source length, n + 1): the bucketing length
padded with <pad> = 0 to the common width W = `max_length` + 1; plus the reference sentences
as token lists for BLEU. A sentence longer than `max_length` tokens is a DataError naming it,
unless `truncate` (train split only). Tokenization is cached by file contents and settings.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dlcore.config import cfg_get
from dlcore.data.base import resolve_data_dir
from dlcore.data.text import (Vocab, cached_arrays, cached_json, file_sha256, make_tokenizer,
                              read_parallel)
from dlcore.data.text.corpora import MULTI30K_SPLITS
from dlcore.errors import DataError

SPLITS = MULTI30K_SPLITS  # train, val, test_2016_flickr


@dataclasses.dataclass
class ParallelData:
  splits: dict  # {split: {column: array}}
  src_vocab: Vocab
  tgt_vocab: Vocab
  references: dict  # {split: [target token list per example]}
  width: int


def encode_pairs(xs, ys, src_vocab: Vocab, tgt_vocab: Vocab, max_length: int, truncate: bool,
                 describe) -> dict:
  """The columns src / tgt_in / tgt_out / lengths of token-list pairs (xs[i], ys[i]), padded to
  max_length + 1. A pair longer than max_length is cut when `truncate`, else a DataError with
  `describe(i, side)`, a phrase naming the example ('multi30k val.de line 3 ...')."""
  width = max_length + 1
  rows = {k: np.zeros((len(xs), width), np.int32) for k in ("src", "tgt_in", "tgt_out")}
  lengths = np.zeros((len(xs),), np.int32)
  for i, (x, y) in enumerate(zip(xs, ys)):
    longest = max(len(x), len(y))
    if longest > max_length:
      if not truncate:
        raise DataError(f"{describe(i, 0 if len(x) >= len(y) else 1)} has {longest} tokens, "
                        f"more than data.max_length={max_length}; raise data.max_length (or "
                        "set data.truncate=True for the train split).")
      x, y = x[:max_length], y[:max_length]
    a, b = src_vocab.encode(x), tgt_vocab.encode(y)
    rows["src"][i, :len(a)] = a
    rows["tgt_in"][i, :len(b) + 1] = [tgt_vocab.bos_id] + b
    rows["tgt_out"][i, :len(b) + 1] = b + [tgt_vocab.eos_id]
    lengths[i] = max(len(a), len(b) + 1)
  return dict(rows, lengths=lengths)


def load_parallel(cfg) -> ParallelData:
  data_dir = resolve_data_dir(cfg)
  src, tgt = str(cfg_get(cfg, "src", "de")), str(cfg_get(cfg, "tgt", "en"))
  max_length = int(cfg_get(cfg, "max_length", 60))
  truncate = bool(cfg_get(cfg, "truncate", False))
  min_freq, max_vocab = int(cfg_get(cfg, "min_freq", 2)), int(cfg_get(cfg, "max_vocab", 0))
  tokenize = make_tokenizer("word", lower=True)
  text = {s: read_parallel(data_dir, s, src, tgt) for s in SPLITS}
  tokens = {s: ([tokenize(x) for x in pair[0]], [tokenize(y) for y in pair[1]])
            for s, pair in text.items()}
  files = [data_dir / "multi30k" / f"{s}.{lang}.gz" for s in SPLITS for lang in (src, tgt)]
  key = dict(files=[file_sha256(p) for p in files], src=src, tgt=tgt, min_freq=min_freq,
             max_vocab=max_vocab, max_length=max_length, truncate=truncate)
  vocabs = cached_json("multi30k_vocab", key, lambda: [
      list(Vocab.build(tokens["train"][side], min_freq, max_vocab).tokens) for side in (0, 1)])
  src_vocab, tgt_vocab = Vocab(tuple(vocabs[0])), Vocab(tuple(vocabs[1]))
  width = max_length + 1

  def encode(split):
    def describe(i, side):
      lang = (src, tgt)[side]
      return f"multi30k {split}.{lang} line {i + 1} ({text[split][side][i][:60]!r}...)"
    return encode_pairs(*tokens[split], src_vocab, tgt_vocab, max_length,
                        truncate and split == "train", describe)

  splits = {s: cached_arrays(f"multi30k_{s}", dict(key, split=s), lambda s=s: encode(s))
            for s in SPLITS}
  refs = {s: tokens[s][1] for s in SPLITS}
  return ParallelData(splits, src_vocab, tgt_vocab, refs, width)

