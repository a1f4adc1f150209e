"""A word corpus for word vectors (ARC-37..40): the English text of the shared data dir as
lower-cased word ids, with the vocabulary, subsampling and window contexts of word2vec.

`data.corpus` names one or several of
  shakespeare   tinyshakespeare/input.txt, one sentence per non-empty line
  sst2          the SST-2 train phrases (GLUE TSV; overlapping sub-phrases included)
  multi30k      the English side of the Multi30k train split
and `data.text` (a list of strings) gives a corpus directly (tests). Words come from
`dlcore.data.text.word_tokenize`; with `words_only` tokens without a letter or digit
(punctuation) are dropped. The vocabulary is every word seen at least `min_count` times (most
frequent first, ties alphabetical); the others are removed from the sentences, as word2vec does.

Frequent-word subsampling (Mikolov et al. 2013b, eq. 5): each occurrence of w is discarded with
probability P(w) = 1 − sqrt(t / f(w)), f(w) = count(w) / total, i.e. kept with probability
min(1, sqrt(t / f(w))); `subsample` = t (1e-5 as in the paper; 0 keeps everything).

`window_contexts(ids, sentence, window)` gives each position's context positions (at most
`window` to each side, in the same sentence): [N, 2w] indices and a validity mask; a dynamic
window (word2vec's reduced window) draws b ∈ {1..w} per centre and keeps offsets |o| <= b.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dlcore.config import cfg_get
from dlcore.data.base import resolve_data_dir
from dlcore.data.text.corpora import read_parallel, read_sst2, read_tiny_shakespeare
from dlcore.data.text.tokenizer import word_tokenize
from dlcore.errors import ConfigError, DataError

CORPORA = ("shakespeare", "sst2", "multi30k")


@dataclasses.dataclass
class WordCorpus:
  """`words` [V] (most frequent first), `counts` [V], and the corpus as `ids` [N] with the
  sentence number of each token in `sentence` [N] (non-decreasing)."""
  words: list[str]
  counts: np.ndarray
  ids: np.ndarray
  sentence: np.ndarray
  name: str = ""

  @property
  def index(self) -> dict[str, int]:
    return {w: i for i, w in enumerate(self.words)}

  def encode(self, text: str, words_only: bool = True) -> np.ndarray:
    """The in-vocabulary word ids of `text` (others dropped)."""
    index = self.index
    return np.array([index[t] for t in tokens(text, words_only) if t in index], np.int32)


def tokens(text: str, words_only: bool = True) -> list[str]:
  return [t for t in word_tokenize(text) if not words_only or any(ch.isalnum() for ch in t)]


def corpus_names(cfg) -> tuple[str, ...]:
  names = cfg_get(cfg, "corpus", ("sst2",))
  names = (names,) if isinstance(names, str) else tuple(names)
  for name in names:
    if name not in CORPORA:
      raise ConfigError(f"data.corpus={name!r}; valid corpora: {', '.join(CORPORA)}.")
  return names


def read_sentences(cfg) -> list[str]:
  """The raw sentences of `data.corpus` (or `data.text`)."""
  text = cfg_get(cfg, "text", None)
  if text is not None:
    return [str(s) for s in text]
  data_dir, out = resolve_data_dir(cfg), []
  for name in corpus_names(cfg):
    if name == "shakespeare":
      out += [line for line in read_tiny_shakespeare(data_dir).split("\n") if line.strip()]
    elif name == "sst2":
      out += read_sst2(data_dir, "train")[0]
    else:
      out += read_parallel(data_dir, "train", "de", "en")[1]
  return out


def build_corpus(sentences: list[str], min_count: int = 5, words_only: bool = True,
                 name: str = "") -> WordCorpus:
  """The vocabulary of words seen >= `min_count` times and the corpus in its ids; DataError if
  no word reaches `min_count` (an empty corpus included)."""
  if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
    raise ConfigError(f"data.min_count must be an int >= 1, got {min_count!r}.")
  toks = [tokens(s, words_only) for s in sentences]
  counts: dict[str, int] = {}
  for sent in toks:
    for t in sent:
      counts[t] = counts.get(t, 0) + 1
  words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
  if not words:
    raise DataError(f"The corpus {name or 'given'} has {sum(counts.values())} words and none "
                    f"occurs min_count={min_count} times; give a larger corpus or lower "
                    "data.min_count.")
  index = {w: i for i, w in enumerate(words)}
  ids, sent_of = [], []
  for n, sent in enumerate(toks):
    kept = [index[t] for t in sent if t in index]
    ids += kept
    sent_of += [n] * len(kept)
  return WordCorpus(words, np.array([counts[w] for w in words], np.int64),
                    np.array(ids, np.int32), np.array(sent_of, np.int64), name)


def load_word_corpus(cfg) -> WordCorpus:
  """`build_corpus` of the sentences `data` names (module docstring)."""
  name = "text" if cfg_get(cfg, "text", None) is not None else "+".join(corpus_names(cfg))
  return build_corpus(read_sentences(cfg), int(cfg_get(cfg, "min_count", 5)),
                      bool(cfg_get(cfg, "words_only", True)), name)


def keep_probabilities(counts, t: float) -> np.ndarray:
  """min(1, sqrt(t / f(w))) with f = counts / Σ counts (t = 0: all ones)."""
  counts = np.asarray(counts, np.float64)
  if not t > 0:
    return np.ones_like(counts)
  return np.minimum(1.0, np.sqrt(t / (counts / counts.sum())))


def window_contexts(sentence: np.ndarray, window: int, rng: np.random.Generator | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
  """(positions [N, 2w] int64, valid [N, 2w] bool): for each token the positions at offsets
  -w..-1, 1..w that lie in the corpus and in its sentence; with `rng`, only |offset| <= b for a
  b drawn uniformly in 1..w per centre (dynamic window)."""
  if window < 1:
    raise ConfigError(f"data.window must be >= 1, got {window}.")
  n = len(sentence)
  offsets = np.array([o for o in range(-window, window + 1) if o != 0])
  where = np.arange(n)[:, None] + offsets[None]
  inside = (where >= 0) & (where < n)
  where = np.clip(where, 0, max(n - 1, 0))
  valid = inside & (sentence[where] == sentence[:, None])
  if rng is not None:
    valid &= np.abs(offsets)[None] <= rng.integers(1, window + 1, n)[:, None]
  return where, valid
