"""dlcore.data.text: vocab, tokenizers, corpus readers, padding, BucketLoader, cache."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from dlcore.data.text import (BpeTokenizer, BucketLoader, Vocab, cached_arrays, cached_json,
                              char_tokenize, file_sha256, make_tokenizer, pad_sequences,
                              read_parallel, read_sst2, read_text, read_tiny_shakespeare,
                              split_text, word_tokenize)
from dlcore.data.text.vocab import RESERVED, SPECIALS
from dlcore.errors import ConfigError, DataError

FIXED = SPECIALS + RESERVED
CORPUS = [["b", "a", "c"], ["a", "b"], ["a", "d"], ["<unk>", "e"]]


# ---- vocab ----

def test_vocab_build_order_min_freq_max_size():
  v = Vocab.build(CORPUS)
  assert v.tokens == FIXED + ("a", "b", "c", "d", "e")  # a:3, b:2, then ties alphabetical
  assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
  assert v.id("[MASK]") == 4 and v.id("[SEP]") == 6 and v.id("zzz") == v.unk_id
  assert Vocab.build(CORPUS, min_freq=2).tokens == FIXED + ("a", "b")
  assert Vocab.build(CORPUS, max_size=8).tokens == FIXED + ("a",)
  assert len(Vocab.build(CORPUS, max_size=7)) == 7
  with pytest.raises(ConfigError):
    Vocab.build(CORPUS, max_size=3)
  with pytest.raises(ConfigError):
    Vocab.build(CORPUS, min_freq=0)


def test_vocab_encode_decode_round_trip():
  v = Vocab.build(CORPUS)
  ids = v.encode(["a", "zz", "d"], bos=True, eos=True)
  assert ids == [2, v.id("a"), 1, v.id("d"), 3]
  assert v.decode(ids + [0, 0]) == ["a", "<unk>", "d"]
  assert v.decode(np.array([v.id("b"), 3, v.id("a")])) == ["b"]  # stops at the first <eos>
  assert v.decode([2, v.id("b"), 3, 0], strip_special=False) == ["<bos>", "b", "<eos>", "<pad>"]
  with pytest.raises(DataError, match="outside the vocabulary"):
    v.decode([999])


def test_vocab_save_load_fingerprint(tmp_path):
  v = Vocab.build([list("hello\nworld")])
  path = tmp_path / "sub" / "vocab.json"
  v.save(path)
  data = json.loads(path.read_text(encoding="utf-8"))
  assert data["format"] == "dlcore-vocab-1" and data["fingerprint"] == v.fingerprint
  w = Vocab.load(path)
  assert w == v and w.fingerprint == v.fingerprint and len(v.fingerprint) == 64
  assert Vocab.build([["x"]]).fingerprint != v.fingerprint
  assert Vocab.from_json(v.to_json()) == v
  with pytest.raises(DataError, match="The vocabulary JSON is corrupted"):
    Vocab.from_json(v.to_json().replace('"h"', '"H"'))


def test_vocab_load_errors(tmp_path):
  path = tmp_path / "vocab.json"
  with pytest.raises(DataError, match="not found"):
    Vocab.load(path)
  path.write_text("{not json", encoding="utf-8")
  with pytest.raises(DataError, match="not valid JSON"):
    Vocab.load(path)
  path.write_text(json.dumps({"format": "other", "tokens": []}), encoding="utf-8")
  with pytest.raises(DataError, match="format 'other'"):
    Vocab.load(path)
  Vocab.build(CORPUS).save(path)
  data = json.loads(path.read_text(encoding="utf-8"))
  data["tokens"][7], data["tokens"][8] = data["tokens"][8], data["tokens"][7]  # an edit
  path.write_text(json.dumps(data), encoding="utf-8")
  with pytest.raises(DataError, match="corrupted"):
    Vocab.load(path)


def test_vocab_check_same_message():
  a, b = Vocab.build(CORPUS), Vocab.build(CORPUS, max_size=8)
  a.check_same(Vocab.build(CORPUS), "vocabulary file v.json")
  with pytest.raises(DataError) as e:
    a.check_same(b, "vocabulary file v.json")
  msg = str(e.value)
  assert msg.startswith(f"vocabulary file v.json has 12 tokens (fingerprint {a.fingerprint[:12]})")
  assert f"the checkpoint was trained with 8 tokens ({b.fingerprint[:12]})" in msg
  assert "differ at id 8 ('b' vs '(none)')" in msg


# ---- tokenizers ----

def test_word_tokenize_sst2_like():
  assert word_tokenize("it 's a charming and often affecting journey . ") == [
      "it", "'s", "a", "charming", "and", "often", "affecting", "journey", "."]
  assert word_tokenize("a poor -- if durable -- imitation ...") == [
      "a", "poor", "--", "if", "durable", "--", "imitation", "..."]
  assert word_tokenize("It does n't like christmas-tree flocking, isn't it?") == [
      "it", "does", "n't", "like", "christmas-tree", "flocking", ",", "isn't", "it", "?"]
  assert word_tokenize("Say 'hello' Now", lower=False) == ["Say", "'", "hello", "'", "Now"]
  assert char_tokenize("ab \n") == ["a", "b", " ", "\n"]


def test_bpe_train_round_trip():
  texts = ["the cat sat on the mat .", "the dog sat on the log !", "a cat and a dog ."] * 10
  bpe = BpeTokenizer.train(texts, vocab_size=60, min_frequency=2)
  pieces = bpe.pieces("The cat sat on the log .")
  assert "".join(pieces).replace("</w>", "") == "thecatsatonthelog."
  assert BpeTokenizer.detokenize(pieces) == "the cat sat on the log ."
  vocab = bpe.vocab()
  assert vocab.tokens[:7] == FIXED and len(vocab) <= 60
  again = BpeTokenizer.from_json(bpe.to_json())
  assert again.pieces("a dog sat") == bpe.pieces("a dog sat")
  with pytest.raises(DataError, match="BPE tokenizer JSON"):
    BpeTokenizer.from_json("{bad")


def test_make_tokenizer_kinds():
  assert make_tokenizer("char")("Ab") == ["A", "b"]
  assert make_tokenizer("word")("Hi there!") == ["hi", "there", "!"]
  bpe = make_tokenizer("bpe", texts=["ab ab ab", "ba ab"], vocab_size=20)
  assert isinstance(bpe, BpeTokenizer) and bpe("ab")
  with pytest.raises(ConfigError, match="valid tokenizers: char, word, bpe"):
    make_tokenizer("sentencepiece")


# ---- padding and bucketing ----

def test_pad_sequences_shapes_and_too_long():
  ids, lengths = pad_sequences([[5, 6, 7], [8], []], pad_id=0, length_multiple=4)
  assert ids.shape == (3, 4) and ids.dtype == np.int32 and lengths.tolist() == [3, 1, 0]
  assert ids.tolist() == [[5, 6, 7, 0], [8, 0, 0, 0], [0, 0, 0, 0]]
  with pytest.raises(DataError, match="Sequence 1 has 5 tokens, more than max_len=3"):
    pad_sequences([[1], [1, 2, 3, 4, 5]], max_len=3)
  ids, lengths = pad_sequences([[1], [1, 2, 3, 4, 5]], max_len=3, truncate=True)
  assert ids.shape == (2, 3) and lengths.tolist() == [1, 3]


def _bucket_data(n=203, seed=0):
  rng = np.random.default_rng(seed)
  seqs = [list(range(1, int(k) + 1)) for k in rng.integers(1, 40, n)]
  tokens, lengths = pad_sequences(seqs)
  columns = {"tokens": tokens, "label": np.arange(n, dtype=np.int32)}
  return columns, lengths


def _loader(seed=3):
  columns, lengths = _bucket_data()
  return BucketLoader(columns, lengths, batch_size=8, seed=seed, boundaries=(8, 16, 24, 32, 48),
                      seq_keys=("tokens",))


def test_bucket_loader_epoch_coverage_and_widths():
  loader = _loader()
  columns, lengths = _bucket_data()
  expected = sum(int(np.sum(np.searchsorted((8, 16, 24, 32, 48), lengths) == b)) // 8 * 8
                 for b in range(5))
  assert loader.steps_per_epoch * 8 == expected == 203 - loader.dropped_per_epoch
  for epoch in range(2):
    seen = []
    for _ in range(loader.steps_per_epoch):
      batch = next(loader)
      width = batch["tokens"].shape[1]
      assert width in (8, 16, 24, 32, 48) and batch["lengths"].max() <= width
      assert batch["mask"].dtype == np.float32 and batch["mask"].shape == (8,)
      lower = max([b for b in (0, 8, 16, 24, 32) if b < width])
      assert batch["lengths"].min() > lower  # all in this width's bucket
      rows = batch["label"]
      cut = min(width, columns["tokens"].shape[1])  # 39 wide: the 48 bucket is padded
      np.testing.assert_array_equal(batch["tokens"][:, :cut], columns["tokens"][rows, :cut])
      assert not batch["tokens"][:, cut:].any()
      seen += rows.tolist()
    assert len(seen) == len(set(seen)) == expected
  assert loader.get_state()["epoch"] == 1


def test_bucket_loader_exact_resume_across_epochs():
  reference = _loader()
  steps = reference.steps_per_epoch
  full = [next(reference)["label"] for _ in range(steps + 5)]
  for k in (0, 3, steps - 2, steps, steps + 1):
    first = _loader()
    for _ in range(k):
      next(first)
    state = json.loads(json.dumps(first.get_state()))
    resumed = _loader(seed=99)
    resumed.set_state(state)
    for i in range(k, min(k + 4, len(full))):
      np.testing.assert_array_equal(next(resumed)["label"], full[i])
  with pytest.raises(DataError, match="out of range"):
    _loader().set_state({"epoch": 0, "batch_in_epoch": steps + 1, "seed": 3})


def test_bucket_loader_errors():
  columns, lengths = _bucket_data()
  with pytest.raises(DataError, match="more than the last bucket boundary 32"):
    BucketLoader(columns, lengths, 8, 0, boundaries=(16, 32))
  with pytest.raises(ConfigError, match="seq_keys"):
    BucketLoader(columns, lengths, 8, 0, boundaries=(64,), seq_keys=("label",))
  with pytest.raises(ConfigError, match="increasing"):
    BucketLoader(columns, lengths, 8, 0, boundaries=(32, 16, 64))
  loader = BucketLoader(columns, lengths, 8, 0, boundaries=(64,))  # pads 39 -> 64
  assert next(loader)["tokens"].shape == (8, 64)


# ---- corpus readers ----

def test_read_sst2(data_dir):
  sentences, labels = read_sst2(data_dir, "train")
  assert len(sentences) == labels.shape[0] == 67_349 and labels.dtype == np.int32
  assert set(np.unique(labels).tolist()) == {0, 1}
  assert sentences[0] == "hide new secretions from the parental units"
  sentences, labels = read_sst2(data_dir, "dev")
  assert len(sentences) == 872 and sentences[0].startswith("it 's a charming")
  sentences, labels = read_sst2(data_dir, "test")
  assert len(sentences) == 1821 and (labels == -1).all()


def test_read_tiny_shakespeare_split(data_dir):
  text = read_tiny_shakespeare(data_dir)
  assert len(text) == 1_115_394 and len(set(text)) == 65
  train, valid = split_text(text)
  assert (len(train), len(valid)) == (1_003_854, 111_540) and train + valid == text


def test_read_parallel_multi30k(data_dir):
  de, en = read_parallel(data_dir, "test_2016_flickr")
  assert len(de) == len(en) == 1000
  assert de[0].startswith("Ein Mann") and en[0].startswith("A man")


def test_reader_missing_empty_malformed(tmp_path):
  with pytest.raises(DataError, match=r"SST-2 train split not found: expected .*train.tsv; set "
                     "data.data_dir or DLCORE_DATA_DIR"):
    read_sst2(tmp_path, "train")
  (tmp_path / "sst2").mkdir()
  (tmp_path / "sst2" / "dev.tsv").write_text("", encoding="utf-8")
  with pytest.raises(DataError, match="dev.tsv has no text"):
    read_sst2(tmp_path, "dev")
  (tmp_path / "sst2" / "dev.tsv").write_text("sentence\tlabel\ngood .\t1\nbad\n", "utf-8")
  with pytest.raises(DataError, match="dev.tsv line 3 has 1 tab-separated columns"):
    read_sst2(tmp_path, "dev")
  (tmp_path / "sst2" / "dev.tsv").write_text("text\tlabel\ngood .\t1\n", "utf-8")
  with pytest.raises(DataError, match="line 1 .* not the GLUE header"):
    read_sst2(tmp_path, "dev")
  (tmp_path / "blank.txt").write_text(" \n\n", encoding="utf-8")
  with pytest.raises(DataError, match="blank.txt has no text"):
    read_text(tmp_path / "blank.txt")
  with pytest.raises(DataError, match="Tiny Shakespeare not found"):
    read_tiny_shakespeare(tmp_path)
  (tmp_path / "multi30k").mkdir()
  for lang, lines in (("de", "a\nb\n"), ("en", "a\n")):
    with gzip.open(tmp_path / "multi30k" / f"val.{lang}.gz", "wt", encoding="utf-8") as f:
      f.write(lines)
  with pytest.raises(DataError, match="has 2 lines but .*val.en.gz has 1"):
    read_parallel(tmp_path, "val")
  (tmp_path / "multi30k" / "val.en.gz").write_bytes(b"not gzip")
  with pytest.raises(DataError, match="not a valid gzip file"):
    read_parallel(tmp_path, "val")


# ---- cache ----

def test_cached_arrays_builds_once_and_rebuilds_corrupt(tmp_path, monkeypatch):
  calls = []

  def build():
    calls.append(1)
    return {"ids": np.arange(6, dtype=np.int32).reshape(2, 3), "file": np.ones(2)}

  key = {"sha256": "ab" * 32, "tokenizer": "word", "lower": True}
  first = cached_arrays("sst2-ids", key, build, cache_dir=tmp_path)
  second = cached_arrays("sst2-ids", key, build, cache_dir=tmp_path)
  assert len(calls) == 1 and second.keys() == first.keys()
  np.testing.assert_array_equal(second["ids"], first["ids"])
  assert second["ids"].dtype == np.int32
  cached_arrays("sst2-ids", dict(key, lower=False), build, cache_dir=tmp_path)
  assert len(calls) == 2  # a different key rebuilds
  files = sorted(tmp_path.glob("sst2-ids-*.npz"))
  assert len(files) == 2 and not list(tmp_path.glob("*.tmp"))
  for p in files:
    p.write_bytes(p.read_bytes()[:40])  # truncated: corrupt
  again = cached_arrays("sst2-ids", key, build, cache_dir=tmp_path)
  assert len(calls) == 3 and again["ids"].shape == (2, 3)
  monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path / "env"))
  cached_arrays("x", key, build)
  assert list((tmp_path / "env").glob("x-*.npz"))


def test_cached_json_and_file_sha256(tmp_path):
  calls = []
  build = lambda: calls.append(1) or ["<pad>", "a", "b"]
  assert cached_json("vocab", {"k": 1}, build, cache_dir=tmp_path) == ["<pad>", "a", "b"]
  assert cached_json("vocab", {"k": 1}, build, cache_dir=tmp_path) == ["<pad>", "a", "b"]
  assert len(calls) == 1
  (path,) = tmp_path.glob("vocab-*.json")
  path.write_text("{", encoding="utf-8")
  assert cached_json("vocab", {"k": 1}, build, cache_dir=tmp_path) == ["<pad>", "a", "b"]
  assert len(calls) == 2
  (tmp_path / "f.txt").write_bytes(b"abc")
  assert file_sha256(tmp_path / "f.txt") == (
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  with pytest.raises(DataError, match="not found"):
    file_sha256(tmp_path / "missing")
