"""Judging word vectors (ARC-37..40): cosine nearest neighbours, the overlap of two models'
neighbours, and a sentence-classification probe of averaged vectors.

- `nearest(emb, queries, k)`: the k words of highest cosine similarity cos(a, b) = aᵀb /
  (|a| |b|) to each query word, the word itself excluded.
- `frequent_words(words, n)`: the n most frequent words (`words` sorted by frequency) that are not
  English stop words (scikit-learn's list of 318) nor one character long.
- `neighbour_overlap(a, b, queries, k)`: overlap@k = mean over the queries of
  |N_a(q) ∩ N_b(q)| / k, each model's neighbours searched in the vocabulary both share.
- `average_vectors(emb, id_lists)`: a sentence's vector is the mean of its in-vocabulary words'
  (zero when it has none); `bag_of_words_accuracy`: the baseline logistic regression on word
  counts (the same tokens), both fitted on the training sentences, accuracy on the others.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _unit(emb: np.ndarray) -> np.ndarray:
  emb = np.asarray(emb, np.float64)
  return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def nearest(emb: np.ndarray, queries: Sequence[int], k: int = 10) -> np.ndarray:
  """[Q, k] ids of each query's k nearest words by cosine, most similar first."""
  unit = _unit(emb)
  queries = np.asarray(queries, np.int64)
  sims = unit[queries] @ unit.T
  sims[np.arange(len(queries)), queries] = -np.inf
  return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def frequent_words(words: Sequence[str], n: int = 50) -> list[str]:
  from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
  out = [w for w in words if w not in ENGLISH_STOP_WORDS and len(w) > 1 and "'" not in w]
  return out[:n]


def neighbour_table(words: Sequence[str], emb: np.ndarray, queries: Sequence[str],
                    k: int = 10) -> str:
  """A markdown table: each query word and its k nearest neighbours (cosine)."""
  index = {w: i for i, w in enumerate(words)}
  queries = [q for q in queries if q in index]
  near = nearest(emb, [index[q] for q in queries], k)
  unit = _unit(emb)
  lines = ["| word | nearest neighbours (cosine) |", "|---|---|"]
  for q, row in zip(queries, near):
    cells = ", ".join(f"{words[j]} {unit[index[q]] @ unit[j]:.2f}" for j in row)
    lines.append(f"| {q} | {cells} |")
  return "\n".join(lines) + "\n"


def neighbour_overlap(words_a: Sequence[str], emb_a: np.ndarray, words_b: Sequence[str],
                      emb_b: np.ndarray, queries: Sequence[str], k: int = 10) -> float:
  """Mean |N_a(q) ∩ N_b(q)| / k over the queries both vocabularies hold (module docstring)."""
  common = sorted(set(words_a) & set(words_b))
  ia, ib = {w: i for i, w in enumerate(words_a)}, {w: i for i, w in enumerate(words_b)}
  a = np.asarray(emb_a)[[ia[w] for w in common]]
  b = np.asarray(emb_b)[[ib[w] for w in common]]
  pos = {w: i for i, w in enumerate(common)}
  queries = [pos[q] for q in queries if q in pos]
  if not queries:
    return float("nan")
  na, nb = nearest(a, queries, k), nearest(b, queries, k)
  return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb)]))


def average_vectors(emb: np.ndarray, id_lists: Sequence[np.ndarray]) -> np.ndarray:
  """[S, d]: the mean vector of each list of word ids (zeros for an empty list)."""
  emb = np.asarray(emb, np.float64)
  out = np.zeros((len(id_lists), emb.shape[1]))
  for n, ids in enumerate(id_lists):
    if len(ids):
      out[n] = emb[ids].mean(0)
  return out


def bag_of_words_accuracy(train_tokens: Sequence[list[str]], train_labels, eval_tokens:
                          Sequence[list[str]], eval_labels, C: float = 1.0) -> float:
  """Accuracy of logistic regression on word counts (vocabulary of the training sentences)."""
  from sklearn.feature_extraction.text import CountVectorizer
  from sklearn.linear_model import LogisticRegression
  vectorizer = CountVectorizer(analyzer=lambda toks: toks)
  x = vectorizer.fit_transform(train_tokens)
  classifier = LogisticRegression(C=float(C), max_iter=2000).fit(x, np.asarray(train_labels))
  return float((classifier.predict(vectorizer.transform(eval_tokens))
                == np.asarray(eval_labels)).mean())
