"""Training examples of word vectors from a `WordCorpus` (ARC-37..40).

`WindowExamples`: word2vec's examples, regenerated every epoch. Epoch e draws, from
np.random.default_rng([seed, e]), which tokens survive subsampling (`keep_probabilities`) and
(with `dynamic`) each centre's reduced window, then makes the window examples of the surviving
tokens (contexts within one sentence) and shuffles them:
  'skipgram'  one (centre, context) pair per valid offset: batches {centre [B], context [B]}
  'cbow'      one example per centre with a context: {centre [B], context [B, 2w] (ids, 0 where
              invalid), valid [B, 2w]}
The number of examples varies a little between epochs; every epoch serves the same
`steps_per_epoch` batches (epoch 0's count // batch size): a longer epoch is cut after its
shuffle, a shorter one wraps around to its beginning. The position (epoch, batch) is exact
state, so a resumed run sees the batches it would have seen.

`cooccurrence(corpus, window)`: GloVe's counts X_ij = Σ over the pairs of i and j at distance
d <= window in a sentence of 1/d (Pennington et al. 2014, §4.2), both orders, all tokens (no
subsampling): (rows, cols, X) of the non-zero entries.
"""

from __future__ import annotations

import numpy as np

from dlcore.data.loader import EpochPosition
from dlcore.data.text.word_corpus import WordCorpus, keep_probabilities, window_contexts
from dlcore.errors import ConfigError, DataError

MODES = ("skipgram", "cbow")


def epoch_examples(corpus: WordCorpus, mode: str, window: int, subsample: float, dynamic: bool,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
  """The (unshuffled) examples of one epoch (module docstring), drawn from `rng`."""
  keep = rng.random(len(corpus.ids)) < keep_probabilities(corpus.counts, subsample)[corpus.ids]
  ids, sentence = corpus.ids[keep], corpus.sentence[keep]
  where, valid = window_contexts(sentence, window, rng if dynamic else None)
  if mode == "skipgram":
    rows, cols = np.nonzero(valid)
    return {"centre": ids[rows], "context": ids[where[rows, cols]]}
  rows = valid.any(1)
  return {"centre": ids[rows], "context": np.where(valid[rows], ids[where[rows]], 0).astype(
      np.int32), "valid": valid[rows]}


class WindowExamples(EpochPosition):
  """Endless batches of word2vec examples, fresh each epoch (module docstring)."""
  what = "WindowExamples"
  changed = "the corpus, window, subsampling or batch size"

  def __init__(self, corpus: WordCorpus, mode: str, batch_size: int, window: int = 5,
               subsample: float = 1e-5, dynamic: bool = True, seed: int = 0):
    if mode not in MODES:
      raise ConfigError(f"model.variant={mode!r}; valid: {', '.join(MODES)}.")
    self.corpus, self.mode, self.window = corpus, mode, int(window)
    self.subsample, self.dynamic = float(subsample), bool(dynamic)
    self.batch_size, self.seed, self.epoch, self.batch_in_epoch = int(batch_size), int(seed), 0, 0
    self._cache: tuple[int, dict] | None = None
    n = len(self._examples(0)["centre"])
    if n < self.batch_size:
      raise DataError(f"The corpus gives {n} {mode} examples in an epoch, fewer than "
                      f"train.batch_size={self.batch_size}; lower the batch size or give more "
                      "text.")
    self.steps_per_epoch = n // self.batch_size

  def _examples(self, epoch: int) -> dict[str, np.ndarray]:
    if self._cache is None or self._cache[0] != epoch:
      rng = np.random.default_rng([self.seed, epoch])
      ex = epoch_examples(self.corpus, self.mode, self.window, self.subsample, self.dynamic, rng)
      order = rng.permutation(len(ex["centre"]))
      self._cache = (epoch, {k: v[order] for k, v in ex.items()})
    return self._cache[1]

  def __iter__(self) -> "WindowExamples":
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    epoch, k = self.next_position()
    ex = self._examples(epoch)
    rows = np.arange(k * self.batch_size, (k + 1) * self.batch_size) % len(ex["centre"])
    return {key: value[rows] for key, value in ex.items()}


def cooccurrence(corpus: WordCorpus, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(rows, cols, X) int32, int32, float32: the non-zero 1/distance-weighted counts."""
  where, valid = window_contexts(corpus.sentence, window)
  offsets = np.abs(np.array([o for o in range(-window, window + 1) if o != 0]))
  rows, cols = np.nonzero(valid)
  v = len(corpus.words)
  keys = corpus.ids[rows].astype(np.int64) * v + corpus.ids[where[rows, cols]]
  unique, inverse = np.unique(keys, return_inverse=True)
  x = np.bincount(inverse, weights=1.0 / offsets[cols], minlength=len(unique))
  return (unique // v).astype(np.int32), (unique % v).astype(np.int32), x.astype(np.float32)
