"""Word vectors (ARC-37..40; LOSS-19, LOSS-20): the corpus, subsampling and window examples, the
GloVe counts and loss, the skip-gram / CBOW scores and objectives against NumPy, the
neighbour evaluators, the empty-corpus error, and tiny end-to-end runs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.data.text.word_corpus import build_corpus, keep_probabilities, window_contexts
from dlcore.data.text.word_pairs import WindowExamples, cooccurrence, epoch_examples
from dlcore.errors import DataError

TEXT = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog",
        "the cat saw the dog on the mat"] * 5


def test_vocabulary_min_count_and_sentences():
  corpus = build_corpus(TEXT + ["rare words here"], min_count=5)
  assert corpus.words[0] == "the" and "rare" not in corpus.words
  assert corpus.counts[0] == 7 * 5
  assert len(corpus.ids) == len(corpus.sentence) and np.all(np.diff(corpus.sentence) >= 0)
  assert [corpus.words[i] for i in corpus.encode("The cat, the RARE mat!")] == [
      "the", "cat", "the", "mat"]


def test_subsampling_follows_mikolov_formula():
  counts = np.array([500, 100, 10, 1])
  t = 1e-2
  f = counts / counts.sum()
  np.testing.assert_allclose(keep_probabilities(counts, t), np.minimum(1, np.sqrt(t / f)))
  np.testing.assert_array_equal(keep_probabilities(counts, 0.0), np.ones(4))
  # empirical share of each word that survives one epoch's draw
  sentences = [" ".join(["a"] * 500 + ["b"] * 100 + ["c"] * 10 + ["d"])] * 40
  corpus = build_corpus(sentences, min_count=1)
  keep = keep_probabilities(corpus.counts, t)
  rng = np.random.default_rng(0)
  kept = rng.random(len(corpus.ids)) < keep[corpus.ids]
  share = np.bincount(corpus.ids[kept], minlength=4) / np.bincount(corpus.ids, minlength=4)
  np.testing.assert_allclose(share[:3], keep[:3], atol=0.02)


def test_window_contexts_and_pairs_match_brute_force():
  sentence = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
  where, valid = window_contexts(sentence, 2)
  offsets = [-2, -1, 1, 2]
  for i in range(len(sentence)):
    for j, o in enumerate(offsets):
      inside = 0 <= i + o < len(sentence) and sentence[i + o] == sentence[i]
      assert valid[i, j] == inside and (not inside or where[i, j] == i + o)
  _, dyn = window_contexts(sentence, 2, np.random.default_rng(0))
  assert np.all(dyn <= valid) and dyn[:, 1:3][valid[:, 1:3]].all()  # |o| = 1 always kept
  corpus = build_corpus(TEXT[:4], min_count=1)
  ex = epoch_examples(corpus, "skipgram", 2, 0.0, False, np.random.default_rng(0))
  expected = []
  for s in range(4):
    ids = corpus.ids[corpus.sentence == s]
    expected += [(ids[i], ids[i + o]) for i in range(len(ids)) for o in offsets
                 if 0 <= i + o < len(ids)]
  assert sorted(zip(ex["centre"], ex["context"])) == sorted(expected)
  cbow = epoch_examples(corpus, "cbow", 2, 0.0, False, np.random.default_rng(0))
  assert len(cbow["centre"]) == len(corpus.ids)
  assert sorted((c, x) for c, row, v in zip(cbow["centre"], cbow["context"], cbow["valid"])
                for x in row[v]) == sorted(expected)


def test_window_examples_regenerate_each_epoch_and_resume():
  corpus = build_corpus(TEXT, min_count=1)
  source = WindowExamples(corpus, "skipgram", 16, window=2, subsample=0.05, seed=3)
  first = [next(source) for _ in range(source.steps_per_epoch)]
  second = next(source)
  assert not np.array_equal(first[0]["centre"], second["centre"])
  state = source.get_state()
  after = next(source)
  again = WindowExamples(corpus, "skipgram", 16, window=2, subsample=0.05, seed=3)
  again.set_state(state)
  np.testing.assert_array_equal(next(again)["context"], after["context"])


def test_cooccurrence_counts_weight_by_inverse_distance():
  corpus = build_corpus(TEXT[:4], min_count=1)
  rows, cols, x = cooccurrence(corpus, 3)
  v = len(corpus.words)
  dense = np.zeros((v, v))
  for s in range(4):
    ids = corpus.ids[corpus.sentence == s]
    for i in range(len(ids)):
      for j in range(len(ids)):
        if 0 < abs(i - j) <= 3:
          dense[ids[i], ids[j]] += 1.0 / abs(i - j)
  got = np.zeros((v, v))
  got[rows, cols] = x
  np.testing.assert_allclose(got, dense, rtol=1e-6)


def test_glove_weighting_and_loss_match_numpy():
  from dlcore.losses.glove import glove_loss, glove_weight
  from dlcore.models.glove import GloVe
  x = np.array([0.5, 1.0, 50.0, 100.0, 300.0], np.float32)
  f = np.where(x < 100, (x / 100) ** 0.75, 1.0)
  np.testing.assert_allclose(glove_weight(x), f, rtol=1e-6)
  model = GloVe(num_outputs=6, features=4)
  rows, cols = jnp.array([0, 1, 2, 5, 3]), jnp.array([1, 2, 0, 4, 3])
  params = model.init(jax.random.PRNGKey(0), rows, cols)["params"]
  pred = model.apply({"params": params}, rows, cols)
  p = jax.tree.map(np.asarray, params)
  w, wt = p["word"]["embedding"], p["context"]["embedding"]
  b, bt = p["word_bias"]["embedding"][:, 0], p["context_bias"]["embedding"][:, 0]
  ref = (w[rows] * wt[cols]).sum(1) + b[rows] + bt[cols]
  np.testing.assert_allclose(pred, ref, rtol=1e-5)
  np.testing.assert_allclose(glove_loss(pred, x), f * (ref - np.log(x)) ** 2, rtol=1e-5)
  np.testing.assert_allclose(model.apply({"params": params}, rows, method="embed"),
                             w[rows] + wt[rows], rtol=1e-6)


def _skipgram(v=7, d=3):
  from dlcore.models.skipgram import SkipGram
  model = SkipGram(num_outputs=v, features=d)
  ids = jnp.zeros((1,), jnp.int32)
  params = model.init(jax.random.PRNGKey(0), ids, ids[:, None])["params"]
  params = {"input": params["input"], "output": {"embedding": jax.random.normal(
      jax.random.PRNGKey(1), (v, d))}}
  return model, params, np.asarray(params["input"]["embedding"]), np.asarray(
      params["output"]["embedding"])


def test_cbow_averages_valid_contexts_and_scores_match_numpy():
  from dlcore.losses.skipgram import negative_sampling_loss, softmax_skipgram_loss
  model, params, u, v = _skipgram()
  contexts = jnp.array([[1, 2, 3, 4], [5, 6, 0, 0]])
  valid = jnp.array([[True, False, True, True], [True, True, False, False]])
  h = model.apply({"params": params}, contexts, valid, method="cbow_hidden")
  ref = np.stack([u[[1, 3, 4]].mean(0), u[[5, 6]].mean(0)])
  np.testing.assert_allclose(h, ref, rtol=1e-5)
  full = model.apply({"params": params}, h, method="output_scores")
  np.testing.assert_allclose(full, ref @ v.T, rtol=1e-5, atol=1e-7)
  ids = jnp.array([[0, 3, 4], [2, 2, 6]])
  some = model.apply({"params": params}, h, ids, method="output_scores")
  np.testing.assert_allclose(some, np.einsum("bd,bkd->bk", ref, v[ids]), rtol=1e-5, atol=1e-7)
  s = ref @ v.T
  target = np.array([3, 6])
  logsm = s - np.log(np.exp(s).sum(1, keepdims=True))
  np.testing.assert_allclose(softmax_skipgram_loss(full, jnp.asarray(target)),
                             -logsm[[0, 1], target], rtol=1e-5)
  sig = lambda z: 1 / (1 + np.exp(-z))
  ns = -np.log(sig(np.asarray(some)[:, 0])) - np.log(sig(-np.asarray(some)[:, 1:])).sum(1)
  np.testing.assert_allclose(negative_sampling_loss(some[:, 0], some[:, 1:]), ns, rtol=1e-5)


def test_neighbours_and_overlap():
  from dlcore.evals.word_vectors import frequent_words, nearest, neighbour_overlap
  rng = np.random.default_rng(0)
  emb = rng.normal(size=(30, 5))
  unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
  sims = unit @ unit.T
  np.fill_diagonal(sims, -np.inf)
  np.testing.assert_array_equal(nearest(emb, [0, 7], 4), np.argsort(-sims[[0, 7]], 1)[:, :4])
  words = [f"w{i}" for i in range(30)]
  rotation = np.linalg.qr(rng.normal(size=(5, 5)))[0]
  assert neighbour_overlap(words, emb, words[::-1], (emb @ rotation * 3)[::-1], words, 5) == 1.0
  assert neighbour_overlap(words, emb, words, rng.normal(size=(30, 5)), words, 5) < 0.5
  assert frequent_words(["the", "film", "a", "'s", "good", "of"], 2) == ["film", "good"]


def test_empty_corpus_is_one_data_error():
  from configs.defaults import embeddings
  from experiments import make_task
  for text, min_count in (([], 5), (["one two three"], 2)):
    c = embeddings.get_config()
    c.data.text, c.data.min_count = text, min_count
    with pytest.raises(DataError, match="none occurs min_count"):
      make_task(c)


@pytest.mark.parametrize("method", ["cbow_ns", "glove"])
def test_tiny_runs_write_neighbours_and_overlap(method, tmp_path):
  from configs.defaults import embeddings
  from dlcore.train import loop
  from experiments import make_task
  c = embeddings.get_config("glove" if method == "glove" else "word2vec")
  c.data.update(text=TEXT, min_count=1, window=2, subsample=0.0)
  c.model.features = 8
  if method != "glove":
    c.model.variant = "cbow"
  c.train.update(batch_size=16, num_steps=30, log_every=10)
  c.evals = {"neighbours": {"type": "neighbours", "words": ("cat",), "k": 3},
             "overlap": {"type": "overlap", "other": "run", "count": 5, "k": 3}}
  _, result = loop.run(make_task(c), tmp_path / "run")
  table = (tmp_path / "run" / "neighbours.md").read_text()
  assert "| cat |" in table and (tmp_path / "run" / "word_vectors.npz").is_file()
  assert result["overlap"]["overlap"] == 1.0  # the run against its own saved vectors
