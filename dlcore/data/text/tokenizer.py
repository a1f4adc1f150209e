"""Text -> token strings: characters, regex words, or a trained BPE (the `tokenizers` package).

`word_tokenize` (after optional lower-casing) keeps, in this order of preference:
  * a clitic chunk: an apostrophe and letters standing alone between whitespace, as in
    pre-tokenized SST-2 / PTB text ("it 's", "they 're", "'em") -> "'s", "'re", "'em";
  * a word: letters/digits/underscore with internal apostrophes or hyphens ("it's", "n't",
    "christmas-tree");
  * a run of one repeated punctuation character ("...", "--", "!!") -> one token; any other
    punctuation character -> its own token.
Whitespace is dropped, so "3.5" gives "3", ".", "5".

`BpeTokenizer` trains a byte-pair-encoding model (whitespace pre-tokenizer, "<unk>" for unseen
characters, the dlcore special and reserved tokens first so its ids match `Vocab`'s fixed ids);
pieces that end a word carry the suffix "</w>", so `detokenize` rebuilds the words.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Iterable

from dlcore.data.text.vocab import FIXED, Vocab
from dlcore.errors import ConfigError, DataError, first_line

KINDS = ("char", "word", "bpe")
END_OF_WORD = "</w>"

_WORD_RE = re.compile(r"(?<!\S)'[^\W\d_]+(?!\S)|\w+(?:['\u2019-]\w+)*|([^\w\s])\1*")


def char_tokenize(text: str) -> list[str]:
  """One token per character (whitespace and newlines included)."""
  return list(text)


def word_tokenize(text: str, lower: bool = True) -> list[str]:
  """Words, clitics and punctuation of `text` (see the module docstring)."""
  if lower:
    text = text.lower()
  return [m.group(0) for m in _WORD_RE.finditer(text)]


class BpeTokenizer:
  """A trained BPE model; call it (or `pieces`) to split text into subword pieces."""

  def __init__(self, tokenizer):
    self._tok = tokenizer

  @classmethod
  def train(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2,
            lower: bool = True) -> "BpeTokenizer":
    """Learns merges on `texts` until `vocab_size` pieces (the 7 fixed tokens included)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    if isinstance(vocab_size, bool) or int(vocab_size) != vocab_size or vocab_size <= len(FIXED):
      raise ConfigError(f"BPE vocab_size must be an int above {len(FIXED)} (the special and "
                        f"reserved tokens), got {vocab_size!r}.")
    if isinstance(min_frequency, bool) or int(min_frequency) != min_frequency or min_frequency < 1:
      raise ConfigError(f"BPE min_frequency must be a positive int, got {min_frequency!r}.")
    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix=END_OF_WORD))
    if lower:
      tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix=END_OF_WORD)
    trainer = trainers.BpeTrainer(vocab_size=int(vocab_size), min_frequency=int(min_frequency),
                                  special_tokens=list(FIXED), end_of_word_suffix=END_OF_WORD,
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    if tok.get_vocab_size() <= len(FIXED):
      raise DataError("The BPE training texts have no text; pass a non-empty corpus.")
    return cls(tok)

  def pieces(self, text: str) -> list[str]:
    """Subword pieces of `text`; word-final pieces end with "</w>"."""
    return self._tok.encode(text).tokens

  __call__ = pieces

  @staticmethod
  def detokenize(pieces: Iterable[str]) -> str:
    """Words of `pieces` joined by single spaces (punctuation stays space-separated)."""
    return "".join(pieces).replace(END_OF_WORD, " ").strip()

  def vocab(self) -> Vocab:
    """The model's pieces in id order, as a `Vocab` (the same ids)."""
    by_id = sorted(self._tok.get_vocab().items(), key=lambda kv: kv[1])
    return Vocab(tuple(t for t, _ in by_id))

  def to_json(self) -> str:
    return self._tok.to_str()

  @classmethod
  def from_json(cls, text: str) -> "BpeTokenizer":
    """The tokenizer of a `to_json` string; DataError if it is not one."""
    from tokenizers import Tokenizer
    try:
      return cls(Tokenizer.from_str(text))
    except Exception as e:  # the library raises a bare Exception
      raise DataError(f"The BPE tokenizer JSON is invalid ({first_line(e)}); save it with "
                      "BpeTokenizer.to_json.") from None


def make_tokenizer(kind: str, lower: bool | None = None, texts: Iterable[str] | None = None,
                   vocab_size: int = 8000, min_frequency: int = 2,
                   bpe_json: str = "") -> Callable[[str], list[str]]:
  """A text -> tokens callable: "char" (lower default False), "word" or "bpe" (default True).
  "bpe" loads `bpe_json` when given (its own lower-casing applies), else trains on `texts`; it
  returns a BpeTokenizer (callable, with to_json)."""
  if kind not in KINDS:
    raise ConfigError(f"Unknown tokenizer {kind!r}; valid tokenizers: {', '.join(KINDS)}.")
  if kind == "char":
    return (lambda text: list(text.lower())) if lower else char_tokenize
  lower = True if lower is None else bool(lower)
  if kind == "word":
    return functools.partial(word_tokenize, lower=lower)
  if bpe_json:
    return BpeTokenizer.from_json(bpe_json)
  if texts is None:
    raise ConfigError("The bpe tokenizer needs training texts or a saved bpe_json.")
  return BpeTokenizer.train(texts, vocab_size, min_frequency=min_frequency, lower=lower)
