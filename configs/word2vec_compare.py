"""word2vec's four combinations (ARC-37, ARC-38, ARC-39; LOSS-19) on the English side of
Multi30k (29,000 captions, 3,259 words of min_count 5: small enough for the full softmax): skip-gram
and CBOW, each with the full softmax over the vocabulary and with k = 5 negatives from
unigram^0.75, same sizes, optimizer and epochs; plus skip-gram with negative sampling from
another seed, to calibrate. Each negative-sampling variant reports the overlap@10 of its
nearest neighbours with its full-softmax counterpart's (and the seed-1 run with seed 0's) over
the 50 most frequent non-stop-words.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/word2vec_compare.py --workdir runs/word2vec_compare
Expected: overlap@10 of the nearest neighbours (cosine) over the 50 most frequent
          non-stop-words, 10 epochs: skip-gram negative sampling vs full softmax 0.606; CBOW
          negative sampling vs full softmax 0.518; skip-gram NS seed 1 vs seed 0 0.466 (so NS
          agrees with the full softmax more than with itself under another seed). Neighbours
          are sensible in both ("white": black, brown, striped, tan ...; "shirt": jeans,
          t-shirt, button-up ...; in <variant>/neighbours.md).
Time:     14 min 30 s for the five (sg_full 562 s, cbow_full 219 s, cbow_neg 35 s, sg_neg
          24 s, sg_neg_seed1 30 s: the full softmax over 3,259 words costs 20x), the 2
          cores shared with other runs and tests.
Curriculum: ARC-37, ARC-38, ARC-39, LOSS-19.
"""

import ml_collections

from configs.defaults import comparison, embeddings

D = ml_collections.ConfigDict


def _variant(variant: str, loss: str, other: str = "", seed: int = 0) -> D:
  return D(dict(seed=seed, model=D(dict(variant=variant)), loss=D(dict(name=loss)),
                evals=D(dict(overlap=D(dict(other=other))))))


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(embeddings.get_config())
  c.name = "word2vec_compare"
  c.title = "word2vec: skip-gram / CBOW x full softmax / negative sampling (Multi30k English)"
  c.data.corpus = ("multi30k",)
  c.train.num_epochs = 10
  c.evals = D({"neighbours": D(dict(type="neighbours", count=20, k=10, event="test")),
               "overlap": D(dict(type="overlap", other="", count=50, k=10, event="test"))})
  c.early_stopping.metric = "loss"
  c.early_stopping.mode = "min"
  c.metrics = ("overlap",)
  c.variants = D({  # run in alphabetical order: each softmax run before its NS counterpart
      "cbow_full": _variant("cbow", "softmax"),
      "cbow_neg": _variant("cbow", "negative_sampling", "cbow_full"),
      "sg_full": _variant("skipgram", "softmax"),
      "sg_neg": _variant("skipgram", "negative_sampling", "sg_full"),
      "sg_neg_seed1": _variant("skipgram", "negative_sampling", "sg_neg", seed=1),
  })
  return c
