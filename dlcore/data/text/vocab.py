"""`Vocab`: a frozen token <-> id table with fixed special ids, built deterministically from
token lists and saved as fingerprinted JSON so a checkpoint can insist on its own vocabulary.

Ids 0..3 are `SPECIALS` (<pad>, <unk>, <bos>, <eos>) and 4..6 are `RESERVED` ([MASK], [CLS],
[SEP], kept for the Transformer family so ids never move); corpus tokens follow by descending
frequency, ties broken alphabetically. The fingerprint is the sha256 hex of the JSON list of
tokens (compact, UTF-8), so it names the exact id assignment.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
import pathlib
import tempfile
from typing import Iterable, Sequence

from dlcore.errors import ConfigError, DataError, first_line

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
RESERVED = ("[MASK]", "[CLS]", "[SEP]")
FIXED = SPECIALS + RESERVED
FORMAT = "dlcore-vocab-1"


def tokens_fingerprint(tokens: Sequence[str]) -> str:
  """sha256 hex of the compact UTF-8 JSON list of `tokens`."""
  text = json.dumps(list(tokens), ensure_ascii=False, separators=(",", ":"))
  return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _problem(tokens: tuple) -> str:
  """Why `tokens` is not a valid vocabulary ('' when it is)."""
  if not all(isinstance(t, str) for t in tokens):
    return "has a token that is not a string"
  if tokens[:len(FIXED)] != FIXED:
    return f"does not start with the special tokens {list(FIXED)}"
  if len(set(tokens)) != len(tokens):
    dup = next(t for t, c in collections.Counter(tokens).items() if c > 1)
    return f"lists the token {dup!r} twice"
  return ""


@dataclasses.dataclass(frozen=True)
class Vocab:
  """An id -> token tuple (`tokens[i]` is id i) and its inverse; see the module docstring."""
  tokens: tuple[str, ...]

  def __post_init__(self):
    tokens = tuple(self.tokens)
    problem = _problem(tokens)
    if problem:
      raise DataError(f"The vocabulary {problem}; build it with Vocab.build or load a file "
                      "written by Vocab.save.")
    object.__setattr__(self, "tokens", tokens)
    object.__setattr__(self, "_index", {t: i for i, t in enumerate(tokens)})

  pad_id = property(lambda self: 0)
  unk_id = property(lambda self: 1)
  bos_id = property(lambda self: 2)
  eos_id = property(lambda self: 3)

  def __len__(self) -> int:
    return len(self.tokens)

  def __contains__(self, token: str) -> bool:
    return token in self._index

  def id(self, token: str) -> int:
    """The id of `token`; unk_id for a token not in the vocabulary."""
    return self._index.get(token, 1)

  def encode(self, tokens: Iterable[str], bos: bool = False, eos: bool = False) -> list[int]:
    """Ids of `tokens` (unknown ones -> unk_id), optionally wrapped in <bos> ... <eos>."""
    index = self._index
    ids = [index.get(t, 1) for t in tokens]
    return ([2] if bos else []) + ids + ([3] if eos else [])

  def decode(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
    """Tokens of `ids`; with strip_special, stops at the first <eos> and drops <pad>/<bos>."""
    out = []
    for i in ids:
      i = int(i)
      if not 0 <= i < len(self.tokens):
        raise DataError(f"Token id {i} is outside the vocabulary of {len(self.tokens)} tokens; "
                        "were the ids made with a different vocabulary?")
      if strip_special:
        if i == 3:
          break
        if i in (0, 2):
          continue
      out.append(self.tokens[i])
    return out

  @classmethod
  def build(cls, token_lists: Iterable[Iterable[str]], min_freq: int = 1,
            max_size: int = 0) -> "Vocab":
    """Specials, reserved, then tokens seen >= min_freq times by descending count (ties:
    alphabetical); max_size > 0 caps the total size, the 7 fixed tokens included."""
    if isinstance(min_freq, bool) or int(min_freq) != min_freq or min_freq < 1:
      raise ConfigError(f"min_freq must be a positive int, got {min_freq!r}.")
    if isinstance(max_size, bool) or int(max_size) != max_size or (
        max_size and max_size < len(FIXED)) or max_size < 0:
      raise ConfigError(f"max_size must be 0 (unlimited) or at least {len(FIXED)} (the special "
                        f"and reserved tokens), got {max_size!r}.")
    counts = collections.Counter()
    for tokens in token_lists:
      counts.update(tokens)
    for t in FIXED:
      counts.pop(t, None)
    ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    if max_size:
      ranked = ranked[:max_size - len(FIXED)]
    return cls(FIXED + tuple(ranked))

  @property
  def fingerprint(self) -> str:
    return tokens_fingerprint(self.tokens)

  def to_json(self) -> str:
    """{"format", "tokens", "fingerprint"} as a JSON string (what `save` writes)."""
    data = {"format": FORMAT, "tokens": list(self.tokens), "fingerprint": self.fingerprint}
    return json.dumps(data, ensure_ascii=False)

  @classmethod
  def from_json(cls, text: str, source: str = "The vocabulary JSON") -> "Vocab":
    """The vocabulary of a `to_json` string; DataError (naming `source`) if it is not JSON, not
    this format, or its tokens do not match its fingerprint (edited or corrupted)."""
    try:
      data = json.loads(text)
    except json.JSONDecodeError as e:
      raise DataError(f"{source} is not valid JSON ({first_line(e)}); it is corrupted, restore "
                      "or rebuild it.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
      got = data.get("format") if isinstance(data, dict) else type(data).__name__
      raise DataError(f"{source} has format {got!r}, not {FORMAT!r}; it was not written by "
                      "dlcore's Vocab.save.")
    tokens = data.get("tokens")
    if not isinstance(tokens, list) or tokens_fingerprint(tokens) != data.get("fingerprint"):
      raise DataError(f"{source} is corrupted: its tokens do not match its fingerprint; restore "
                      "or rebuild it.")
    try:
      return cls(tuple(tokens))
    except DataError as e:
      raise DataError(f"{source}: {e}") from None

  def save(self, path: str | os.PathLike) -> None:
    """Writes `to_json()` to `path` atomically (tmp file + rename)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
      with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(self.to_json())
      os.replace(tmp, path)
    except BaseException:
      if os.path.exists(tmp):
        os.remove(tmp)
      raise

  @classmethod
  def load(cls, path: str | os.PathLike) -> "Vocab":
    """Reads a `save`d vocabulary; DataError if missing or not a valid `to_json` file."""
    path = pathlib.Path(path)
    if not path.is_file():
      raise DataError(f"Vocabulary file {path} not found; point to the vocab.json saved with the "
                      "checkpoint or data.")
    try:
      text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
      raise DataError(f"Vocabulary file {path} is not UTF-8 text; it is corrupted, restore or "
                      "rebuild it.") from None
    return cls.from_json(text, source=f"Vocabulary file {path}")

  def check_same(self, other: "Vocab", what: str,
                 expected: str = "the checkpoint was trained with") -> None:
    """DataError unless `other` has the same tokens and ids; `what` names this vocabulary
    (e.g. "vocabulary file runs/a/vocab.json") and `expected` the other's side."""
    if self.tokens == other.tokens:
      return
    diff = next((i for i, (a, b) in enumerate(zip(self.tokens, other.tokens)) if a != b),
                min(len(self), len(other)))
    mine = self.tokens[diff] if diff < len(self) else "(none)"
    theirs = other.tokens[diff] if diff < len(other) else "(none)"
    raise DataError(f"{what} has {len(self)} tokens (fingerprint {self.fingerprint[:12]}) but "
                    f"{expected} {len(other)} tokens ({other.fingerprint[:12]}); they first "
                    f"differ at id {diff} ({mine!r} vs {theirs!r}), so use the vocabulary saved "
                    "with the checkpoint.")
