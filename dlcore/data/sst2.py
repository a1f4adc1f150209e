"""SST-2 sentiment (GLUE; `sst2/{train,dev}.tsv` in the data dir) as padded token ids.

Data config keys (besides the common ones):
  tokenizer   'word' (lowercased words, punctuation split off; SST-2 is pre-tokenized) or 'char'
  min_freq    keep train tokens seen at least this often (others are <unk>)
  max_vocab   cap on the vocabulary size, specials included (0: none)
  max_length  the longest sentence in tokens that fits (longer ones are a DataError unless
              truncate=True)
  truncate    cut longer sentences to max_length
  vocab_file  a vocab.json to use instead of building one (a pretrained model's: the
              fine-tuning run then indexes the same embedding rows); '' = build from train
  prepend_cls start every sentence with [CLS] (BERT's input; it counts in max_length)

Splits 'train' (67,349 phrases) and 'dev' (872 sentences; GLUE's test split is unlabelled).
Columns: inputs (N, max_length) int32 token ids padded with <pad> = 0, lengths (N,), label (N,).
The vocabulary is built on the train split only; it travels as the run asset `vocab.json`.
Tokenization runs once per (file contents, settings) and is cached (`dlcore.data.text.cache`).
"""

from __future__ import annotations

import dataclasses

from dlcore.config import cfg_get
from dlcore.data.base import DATASETS, Dataset, make_columns_dataset, resolve_data_dir
from dlcore.data.features import Feature
from dlcore.data.text import Vocab, cached_arrays, cached_json, file_sha256, make_tokenizer, \
  pad_sequences, read_sst2

SPLITS = ("train", "dev")


@DATASETS.register("sst2")
def load_sst2(cfg) -> Dataset:
  data_dir = resolve_data_dir(cfg)
  kind = str(cfg_get(cfg, "tokenizer", "word"))
  tokenize = make_tokenizer(kind)
  settings = dict(tokenizer=kind, min_freq=int(cfg_get(cfg, "min_freq", 1)),
                  max_vocab=int(cfg_get(cfg, "max_vocab", 0)),
                  max_length=int(cfg_get(cfg, "max_length", 64)),
                  truncate=bool(cfg_get(cfg, "truncate", False)),
                  prepend_cls=bool(cfg_get(cfg, "prepend_cls", False)))
  vocab_file = str(cfg_get(cfg, "vocab_file", "") or "")
  files = {s: data_dir / "sst2" / f"{s}.tsv" for s in SPLITS}
  text = {}

  def sentences(split):
    if split not in text:
      text[split] = read_sst2(data_dir, split)
    return text[split]

  key = dict(settings, files={s: file_sha256(p) if p.is_file() else str(p)
                              for s, p in files.items()})
  if not all(p.is_file() for p in files.values()):
    for s in SPLITS:
      sentences(s)  # the reader's one-line error for the missing file
  if vocab_file:
    vocab = Vocab.load(vocab_file)
    key["vocab"] = vocab.fingerprint
  else:
    vocab = Vocab(tuple(cached_json("sst2_vocab", key, lambda: list(Vocab.build(
        (tokenize(s) for s in sentences("train")[0]), settings["min_freq"],
        settings["max_vocab"]).tokens))))
  first = ["[CLS]"] if settings["prepend_cls"] else []

  def encode(split):
    def build():
      sents, labels = sentences(split)
      width = settings["max_length"]  # every split has this width
      ids, lengths = pad_sequences([vocab.encode(first + tokenize(s)) for s in sents],
                                   vocab.pad_id,
                                   max_len=width, length_multiple=width,
                                   truncate=settings["truncate"])
      return {"inputs": ids, "lengths": lengths, "label": labels}
    return cached_arrays(f"sst2_{split}", dict(key, split=split), build)

  width = settings["max_length"]
  features = {"inputs": Feature("tokens", "int32", (width,))}
  ds = make_columns_dataset("sst2", "multiclass", {s: encode(s) for s in SPLITS}, features,
                            num_classes=2)
  info = dataclasses.replace(ds.info, assets={"vocab.json": vocab.to_json()},
                             vocab_size=len(vocab))
  return Dataset(info=info, splits=ds.splits)

