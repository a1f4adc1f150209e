"""BERT pretraining examples (ARC-23, LOSS-21) from documents of tokenized sentences.

A document is a list of sentences (token id lists) in reading order. Every sentence i of a
document with a next sentence gives one pair example
  [CLS] A [SEP] B [SEP],  segments 0 for [CLS] A [SEP] and 1 for B [SEP]
with B the true next sentence (nsp_label 1) or, with probability 1/2, a random sentence of
another document (nsp_label 0). The last sentence of a document, and a document of one sentence,
give a single-segment example [CLS] A [SEP] with nsp_weight 0 (it trains the MLM only).
A pair longer than `max_len` loses tokens from the end of its longer sentence until it fits.
Rows are padded with <pad> = 0 to `max_len`; the masking itself happens in the jitted step
(`dlcore.data.text.masking`), anew at every step.
"""

from __future__ import annotations

import numpy as np

from dlcore.errors import DataError

CLS_ID, SEP_ID = 5, 6


def _fit(a: list[int], b: list[int], budget: int) -> tuple[list[int], list[int]]:
  a, b = list(a), list(b)
  while len(a) + len(b) > budget:
    (a if len(a) >= len(b) else b).pop()
  return a, b


def bert_examples(documents: list[list[list[int]]], max_len: int, seed: int) -> dict:
  """{'tokens', 'segments' (N, max_len) int32, 'nsp_label' (N,) int32, 'nsp_weight' (N,)}."""
  if max_len < 5:
    raise DataError(f"BERT examples need max_len >= 5 ([CLS] a [SEP] b [SEP]), got {max_len}.")
  documents = [[s for s in doc if s] for doc in documents]
  documents = [doc for doc in documents if doc]
  if not documents:
    raise DataError("the pretraining corpus has no sentences.")
  rng = np.random.default_rng(seed)
  flat = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc))]
  rows, segs, labels, weights = [], [], [], []
  for d, doc in enumerate(documents):
    for i, a in enumerate(doc):
      if i + 1 < len(doc) and len(documents) > 1:
        if rng.random() < 0.5:
          b, label = doc[i + 1], 1
        else:
          while True:
            other, j = flat[int(rng.integers(len(flat)))]
            if other != d:
              break
          b, label = documents[other][j], 0
        a_fit, b_fit = _fit(a, b, max_len - 3)
        row = [CLS_ID] + a_fit + [SEP_ID] + b_fit + [SEP_ID]
        seg = [0] * (len(a_fit) + 2) + [1] * (len(b_fit) + 1)
        weight = 1.0
      else:
        a_fit = list(a)[:max_len - 2]
        row, seg, label, weight = [CLS_ID] + a_fit + [SEP_ID], [0] * (len(a_fit) + 2), 0, 0.0
      rows.append(row + [0] * (max_len - len(row)))
      segs.append(seg + [0] * (max_len - len(seg)))
      labels.append(label)
      weights.append(weight)
  return {"tokens": np.asarray(rows, np.int32), "segments": np.asarray(segs, np.int32),
          "nsp_label": np.asarray(labels, np.int32), "nsp_weight": np.asarray(weights, np.float32)}
