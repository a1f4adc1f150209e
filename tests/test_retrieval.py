"""Retrieval experiment (Exercise 002 §11.2.7, triplet loss): recall@k and a short real run."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from dlcore.evals import recall_at_k
from dlcore.train.metric_logger import read_metrics
from launch import run
from launch.cli import load_config_file

from conftest import REPO


def brute_force_recall(emb: np.ndarray, labels: np.ndarray, k: int) -> float:
  """Per query: distances to every row by direct differences, itself excluded, stable sort
  (ties -> lower index first), hit if a same-label row is among the first k."""
  emb = np.asarray(emb, np.float64)
  hits = 0
  for i in range(len(emb)):
    d = np.sqrt(((emb - emb[i])**2).sum(axis=1))
    d[i] = np.inf
    nearest = np.argsort(d, kind="stable")[:k]
    hits += bool((labels[nearest] == labels[i]).any())
  return hits / len(emb)


@pytest.mark.parametrize("seed", range(4))
def test_recall_at_k_matches_brute_force_on_random_embeddings(seed):
  rng = np.random.default_rng(seed)
  n, dim = 157, 4 + seed
  emb = rng.normal(size=(n, dim)).astype(np.float32)
  emb /= np.linalg.norm(emb, axis=1, keepdims=True)
  labels = rng.integers(0, 5, size=n)
  ks = (1, 2, 5, 10)
  got = recall_at_k(emb, labels, ks, block=40)  # several blocks, the last one partial
  for k in ks:
    assert got[f"recall@{k}"] == pytest.approx(brute_force_recall(emb, labels, k), abs=0)


@pytest.mark.parametrize("seed", range(3))
def test_recall_at_k_ties_take_the_lower_index_first(seed):
  """Small integer embeddings: many exactly equal distances (exact in float64). The k nearest
  are ordered by (distance, index), as a stable sort would give."""
  rng = np.random.default_rng(100 + seed)
  n = 90
  emb = rng.integers(0, 3, size=(n, 2)).astype(np.float64)
  labels = rng.integers(0, 4, size=n)
  ks = (1, 3, 5)
  got = recall_at_k(emb, labels, ks, block=32)
  for k in ks:
    assert got[f"recall@{k}"] == brute_force_recall(emb, labels, k)


def test_recall_at_k_tie_rule_by_hand():
  # query 0 is equally far from 1 (other label) and 2 (same label): index 1 wins for k=1.
  emb = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [5.0, 5.0]])
  labels = np.array([0, 1, 0, 1])
  r = recall_at_k(emb, labels, (1, 2))
  # k=1: q0 -> 1 (miss), q1 -> 0 (miss), q2 -> 0 (hit), q3 -> 1 (hit)
  assert r["recall@1"] == 0.5
  with pytest.raises(ValueError):
    recall_at_k(emb, labels, (4,))


def test_short_triplet_run_on_mnist(data_dir, tmp_path):
  c = load_config_file(str(REPO / "configs" / "mnist_triplet.py"))
  c.data.data_dir = str(data_dir)
  c.data.num_train = 2048
  c.data.num_test = 1000
  c.train.update(dict(batch_size=128, num_steps=20, log_every=10, eval_every=20,
                      checkpoint_every=20, progress=False))
  c.eval.batch_size = 504  # multiple of 8; two eval batches, the last one padded
  state, result = run.train_with_state(c, tmp_path)
  test = result["test"]
  assert result["status"] == "finished" and result["step"] == 20
  assert test["num_examples"] == 1000
  assert test["recall@1"] > 0.5  # chance is ~0.1
  assert test["recall@5"] >= test["recall@1"]
  assert np.isfinite(test["loss"])  # the triplet loss and recall@k: one final 'test' event
  events = read_metrics(tmp_path / "metrics.jsonl")
  assert [(e["split"], e["step"], "recall@1" in e) for e in events if e["split"] != "train"] == \
      [("eval", 20, False), ("test", 20, True)]  # recall only at the end, not in periodic evals
  final = [e for e in events if e["split"] == "test"][0]
  assert final["recall@1"] == test["recall@1"] and final["loss"] == test["loss"]
  again = run.evaluate(c, tmp_path)
  assert again["step"] == 20
  assert again["recall@1"] == test["recall@1"] and again["recall@5"] == test["recall@5"]
  assert again["loss"] == pytest.approx(test["loss"], rel=1e-6)
  params = jax.device_get(state.eval_params())
  assert params["output"]["kernel"].shape == (3136, 32)
