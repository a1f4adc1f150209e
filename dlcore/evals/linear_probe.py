"""A linear probe of fixed embeddings: multinomial logistic regression (scikit-learn, L2
penalty of strength 1/C, L-BFGS) fitted on the training items, accuracy on others. How
DeepWalk, node2vec and word2vec embeddings are judged on a downstream classification.

`normalize`: 'none' (the embeddings as they are), 'l2' (each row scaled to unit length) or
'standard' (each dimension to mean 0 and variance 1 over the training rows).
"""

from __future__ import annotations

import numpy as np

from dlcore.errors import ConfigError

NORMALIZE = ("none", "l2", "standard")


def _normalized(x: np.ndarray, train: np.ndarray, how: str) -> np.ndarray:
  if how == "l2":
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
  if how == "standard":
    mean, std = x[train].mean(0), x[train].std(0)
    return (x - mean) / np.where(std > 0, std, 1.0)
  if how == "none":
    return x
  raise ConfigError(f"probe normalize={how!r}; valid: {', '.join(NORMALIZE)}.")


def fit_probe(embeddings, labels, train, C: float = 1.0, normalize: str = "none",
              max_iter: int = 1000):
  """(classifier, normalised embeddings): the probe fitted on rows `train`."""
  from sklearn.linear_model import LogisticRegression
  x = _normalized(np.asarray(embeddings, np.float64), np.asarray(train), normalize)
  classifier = LogisticRegression(C=float(C), max_iter=int(max_iter))
  classifier.fit(x[train], np.asarray(labels)[train])
  return classifier, x


def probe_accuracy(embeddings, labels, train, evaluate, **options) -> float:
  """Accuracy on rows `evaluate` of the probe fitted on rows `train`."""
  classifier, x = fit_probe(embeddings, labels, train, **options)
  return float((classifier.predict(x[evaluate]) == np.asarray(labels)[evaluate]).mean())
