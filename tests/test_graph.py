"""The graph family: message-passing layers against dense NumPy, node2vec's walk probabilities,
the LINQS / Planetoid loaders (restricted unpickler, node matching, one-line errors) and small
end-to-end runs through make_task and the loop."""

from __future__ import annotations

import pickle

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from dlcore.data.graph import load_graph
from dlcore.data.graph.base import planetoid_split
from dlcore.data.graph.linqs import read_linqs
from dlcore.data.graph.matching import edge_set, match_graphs
from dlcore.data.graph.planetoid import load_pickle
from dlcore.data.graph.walks import neighbour_table, node2vec_weights, random_walks
from dlcore.errors import DataError
from dlcore.losses.skipgram import negative_sampling_loss, noise_distribution, sample_negatives
from dlcore.models.skipgram import SkipGram, window_offsets, window_valid
from dlcore.nn.message_passing import GATConv, GCNConv, aggregate
from dlcore.nn.sparse import SparseMatrix

# A 5-node graph: 0-1, 0-2, 1-2, 2-3 (node 4 isolated), both directions.
EDGES = np.array([(0, 1), (0, 2), (1, 2), (2, 3)])
SENDERS = np.concatenate([EDGES[:, 0], EDGES[:, 1]]).astype(np.int32)
RECEIVERS = np.concatenate([EDGES[:, 1], EDGES[:, 0]]).astype(np.int32)
N = 5


def dense_adjacency() -> np.ndarray:
  a = np.zeros((N, N))
  a[RECEIVERS, SENDERS] = 1.0
  return a


def test_aggregations_match_numpy():
  messages = np.random.default_rng(0).normal(size=(len(SENDERS), 3)).astype(np.float32)
  for how in ("sum", "mean", "max"):
    got = np.asarray(aggregate(jnp.asarray(messages), jnp.asarray(RECEIVERS), N, how))
    for i in range(N):
      incoming = messages[RECEIVERS == i]
      want = (np.zeros(3) if not len(incoming) else
              {"sum": incoming.sum(0), "mean": incoming.mean(0), "max": incoming.max(0)}[how])
      np.testing.assert_allclose(got[i], want, rtol=1e-6, atol=1e-6, err_msg=f"{how} node {i}")


@pytest.mark.parametrize("sparse", [False, True])
def test_gcn_layer_is_normalized_adjacency_times_features(sparse):
  x = np.random.default_rng(1).normal(size=(N, 4)).astype(np.float32)
  x[x < 0] = 0.0  # zeros, so the sparse path has something to skip
  layer = GCNConv(3)
  inputs = SparseMatrix.from_dense(x) if sparse else jnp.asarray(x)
  params = layer.init(jax.random.key(0), inputs, SENDERS, RECEIVERS)["params"]
  params = dict(params, bias=jnp.arange(3, dtype=jnp.float32))
  got = np.asarray(layer.apply({"params": params}, inputs, SENDERS, RECEIVERS))
  a_hat = dense_adjacency() + np.eye(N)
  d = a_hat.sum(1)
  norm = a_hat / np.sqrt(d[:, None] * d[None, :])
  want = norm @ x @ np.asarray(params["kernel"]) + np.arange(3)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_gat_attention_coefficients_match_numpy():
  heads, width = 2, 3
  x = np.random.default_rng(2).normal(size=(N, 4)).astype(np.float32)
  layer = GATConv(width, heads)
  params = layer.init(jax.random.key(1), x, SENDERS, RECEIVERS)["params"]
  out, inter = layer.apply({"params": params}, x, SENDERS, RECEIVERS, mutable=["intermediates"])
  alpha = np.asarray(inter["intermediates"]["attention"][0])  # [E + N, heads]
  z = (x @ np.asarray(params["kernel"])).reshape(N, heads, width)
  src = (z * np.asarray(params["att_src"])).sum(-1)
  dst = (z * np.asarray(params["att_dst"])).sum(-1)
  senders = np.concatenate([SENDERS, np.arange(N)])
  receivers = np.concatenate([RECEIVERS, np.arange(N)])
  logits = src[senders] + dst[receivers]
  logits = np.where(logits > 0, logits, 0.2 * logits)
  want = np.zeros_like(logits)
  expected = np.zeros((N, heads, width))
  for i in range(N):
    into = receivers == i
    w = np.exp(logits[into] - logits[into].max(0))
    want[into] = w / w.sum(0)
    expected[i] = (want[into][:, :, None] * z[senders[into]]).sum(0)
  np.testing.assert_allclose(alpha, want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(alpha[receivers == 4], 1.0, rtol=1e-6)  # isolated: only itself
  np.testing.assert_allclose(np.asarray(out), expected.reshape(N, -1) + np.asarray(
      params["bias"]), rtol=1e-5, atol=1e-5)


def test_node2vec_transition_probabilities():
  """π_vx = 1/p (x = t), 1 (x ~ t), 1/q (else), by enumeration and by sampled walks."""
  table, degree = neighbour_table(SENDERS, RECEIVERS, N)
  p, q = 0.5, 4.0
  adjacency = dense_adjacency()
  for t, v in [(0, 2), (3, 2), (1, 0)]:
    weights = np.asarray(node2vec_weights(table, degree, jnp.array([t]), jnp.array([v]), p, q))[0]
    got = {int(x): w for x, w in zip(table[v], weights) if x < N}
    want = {x: 1 / p if x == t else 1.0 if adjacency[t, x] else 1 / q
            for x in np.flatnonzero(adjacency[v])}
    assert got == pytest.approx(want), (t, v)
  # empirical: walks 0 -> 2 -> x; x's frequencies are π_2x / Z (0: 1/p, 1: 1, 3: 1/q)
  walks = np.asarray(random_walks(jax.random.key(0), jnp.zeros(40000, jnp.int32), table,
                                  degree, 3, p, q))
  third = walks[walks[:, 1] == 2, 2]
  freq = np.bincount(third, minlength=N) / len(third)
  pi = np.array([1 / p, 1.0, 0.0, 1 / q, 0.0])
  np.testing.assert_allclose(freq, pi / pi.sum(), atol=0.015)
  # p = q = 1: uniform; an isolated node stays put
  walks = np.asarray(random_walks(jax.random.key(1), jnp.array([2] * 30000 + [4]), table,
                                  degree, 2))
  np.testing.assert_allclose(np.bincount(walks[:-1, 1], minlength=N)[[0, 1, 3]] / 30000,
                             1 / 3, atol=0.015)
  assert walks[-1].tolist() == [4, 4]


def test_skipgram_window_scores_and_negative_sampling():
  """window_scores = the brute-force score of every pair within the window; the NEG loss and
  the noise distribution by hand."""
  walks = jnp.array([[0, 1, 2, 3], [4, 2, 2, 0]])
  model = SkipGram(num_outputs=5, features=3)
  params = model.init(jax.random.key(0), walks[:, 0], walks[:, :2])["params"]
  params["output"]["embedding"] = jax.random.normal(jax.random.key(1), (5, 3))
  negatives = jnp.arange(16).reshape(2, 4, 2) % 5
  positive, negative = model.apply({"params": params}, walks, 2, negatives,
                                   method="window_scores")
  valid = np.asarray(window_valid(4, 2))
  assert valid.sum() == 10  # pairs at distance 1 (3 x 2) and 2 (2 x 2) in a walk of 4
  u, v = np.asarray(params["input"]["embedding"]), np.asarray(params["output"]["embedding"])
  for b in range(2):
    for i in range(4):
      for j, o in enumerate(window_offsets(2)):
        want = u[walks[b, i]] @ v[walks[b, i + o]] if valid[i, j] else 0.0
        np.testing.assert_allclose(positive[b, i, j], want, rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(negative[b, i], v[negatives[b, i]] @ u[walks[b, i]], rtol=1e-5)
  sig = lambda s: 1 / (1 + np.exp(-s))
  want = -np.log(sig(2.0)) - np.log(sig(1.0)) - np.log(sig(-0.5))
  np.testing.assert_allclose(negative_sampling_loss(jnp.array([2.0]), jnp.array([[-1.0, 0.5]])),
                             [want], rtol=1e-6)
  probs = noise_distribution([1, 2, 4, 8])
  np.testing.assert_allclose(probs, np.array([1, 2, 4, 8]) ** 0.75 / (np.array(
      [1, 2, 4, 8]) ** 0.75).sum(), rtol=1e-6)
  draws = np.asarray(sample_negatives(jax.random.key(0), jnp.asarray(probs), (50000,)))
  np.testing.assert_allclose(np.bincount(draws, minlength=4) / 50000, probs, atol=0.01)


class _Evil:
  def __init__(self, path):
    self.path = path

  def __reduce__(self):
    import os
    return os.system, (f"touch {self.path}",)


def test_restricted_unpickler_rejects_a_malicious_pickle(tmp_path):
  marker = tmp_path / "pwned"
  bad = tmp_path / "ind.evil.x"
  bad.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
  with pytest.raises(DataError, match=r"ind\.evil\.x: refers to (posix|os|nt)\.system"):
    load_pickle(bad)
  assert not marker.exists()
  garbage = tmp_path / "ind.garbage.x"
  garbage.write_bytes(b"\x80\x02not a pickle")
  with pytest.raises(DataError, match="cannot be read as a pickle"):
    load_pickle(garbage)
  fine = tmp_path / "ind.ok.y"
  fine.write_bytes(pickle.dumps({0: [1, 2]}, protocol=2))
  assert load_pickle(fine) == {0: [1, 2]}


def write_linqs(folder, content_lines, cites_lines, name="toy"):
  folder.mkdir(parents=True, exist_ok=True)
  (folder / f"{name}.content").write_text("\n".join(content_lines) + "\n")
  (folder / f"{name}.cites").write_text("\n".join(cites_lines) + "\n")
  return folder / name


def test_linqs_errors_name_the_file_and_line(tmp_path):
  content = ["a\t1\t0\tX", "b\t0\t1\tY", "c\t1\t1\tX"]
  prefix = write_linqs(tmp_path / "g", content, ["a\tb", "b\tc", "c\tzz"])
  with pytest.raises(DataError, match=r"toy\.cites line 3: node id 'zz' is not in the "
                                      r"\.content file"):
    read_linqs(prefix)
  write_linqs(tmp_path / "g", content, ["a\tb", "a b c"])
  with pytest.raises(DataError, match=r"toy\.cites line 2: 3 fields"):
    read_linqs(tmp_path / "g")  # the folder works as well as the prefix
  write_linqs(tmp_path / "g", content[:2] + ["c\t1\tX"], ["a\tb"])
  with pytest.raises(DataError, match=r"toy\.content line 3: 3 fields but the first node line "
                                      r"has 4"):
    read_linqs(prefix)
  write_linqs(tmp_path / "g", content[:2] + ["c\t1\tyes\tX"], ["a\tb"])
  with pytest.raises(DataError, match=r"toy\.content line 3: feature 'yes' is not a number"):
    read_linqs(prefix)
  with pytest.raises(DataError, match=r"missing\.content does not exist"):
    read_linqs(tmp_path / "g" / "missing")


def test_matching_recovers_a_shuffled_graph_with_tied_nodes():
  """Two nodes with equal features and symmetric neighbourhoods (a tie that refinement cannot
  split) and repeated edges: the matching is still a bijection carrying edges over."""
  rng = np.random.default_rng(0)
  features = np.array([[1, 0], [1, 0], [0, 1], [1, 1], [0, 1], [1, 1]], np.float32)
  edges = np.array([(0, 2), (1, 2), (2, 3), (3, 4), (4, 5), (2, 3), (5, 3)])
  perm = rng.permutation(6)
  got = match_graphs(features, edges, features[np.argsort(perm)], perm[edges][:, ::-1])
  assert sorted(got.tolist()) == list(range(6))
  assert np.array_equal(edge_set(got[edges], 6), edge_set(perm[edges], 6))
  with pytest.raises(DataError, match="not the same graph"):
    match_graphs(features, edges, features, edges[:-2])


@pytest.fixture
def cora_dir(data_dir):
  if not (data_dir / "cora" / "planetoid" / "ind.cora.graph").is_file():
    pytest.skip("needs cora/ in the shared data")
  return data_dir


def test_planetoid_split_maps_onto_linqs_as_a_bijection(cora_dir):
  _, features, labels, _, edges = read_linqs(cora_dir / "cora" / "linqs" / "cora")
  splits, perm = planetoid_split(cora_dir / "cora" / "planetoid" / "ind.cora", features, labels,
                                 edges)
  assert sorted(perm.tolist()) == list(range(2708))
  from dlcore.data.graph.planetoid import read_planetoid
  planetoid = read_planetoid(cora_dir / "cora" / "planetoid" / "ind.cora")
  assert np.array_equal(edge_set(perm[planetoid.edges], 2708), edge_set(edges, 2708))
  np.testing.assert_array_equal((features[perm] != 0), (planetoid.features != 0))
  pairs = set(zip(planetoid.labels.tolist(), labels[perm].tolist()))
  assert len(pairs) == 7  # one LINQS class for each Planetoid class
  assert {k: len(v) for k, v in splits.items()} == {"train": 140, "val": 500, "test": 1000}
  assert not set(splits["train"]) & set(splits["val"]) and not set(splits["val"]) & set(
      splits["test"])
  assert np.bincount(labels[splits["train"]]).tolist() == [20] * 7  # Planetoid: 20 a class


def graph_config(**data):
  from configs.defaults import graph
  c = graph.get_config()
  c.data.update(data)
  c.train.progress = False
  return c


def test_gcn_on_cora_end_to_end(cora_dir, tmp_path):
  from dlcore.train import loop
  from experiments import make_task
  c = graph_config(data_dir=str(cora_dir))
  c.train.update(num_epochs=100, log_every=50)
  c.evals.eval.every = 50
  del c.evals["plot"]
  _, result = loop.run(make_task(c), tmp_path)
  assert result["status"] == "finished" and result["test"]["accuracy"] > 0.75


def test_deepwalk_on_a_toy_graph_from_text_files(tmp_path):
  """Two 30-node communities as LINQS files, a random split; DeepWalk's probe separates them,
  and the t-SNE picture is written."""
  from dlcore.train import loop
  from experiments import make_task
  rng = np.random.default_rng(0)
  n = 60
  labels = np.arange(n) // 30
  content = [f"n{i}\t1\t{'AB'[labels[i]]}" for i in range(n)]
  link = rng.random((n, n)) < np.where(labels[:, None] == labels[None], 0.2, 0.01)
  cites = [f"n{i}\tn{j}" for i, j in zip(*np.nonzero(np.triu(link, 1)))]
  prefix = write_linqs(tmp_path / "data", content, cites)
  from configs.defaults import graph
  c = graph.get_config("walks")
  c.data.update(data_dir=str(tmp_path), path=str(prefix), split="random", train_per_class=5,
                num_val=10, num_test=30)
  c.model.features = 16
  c.walks.update(length=10, batch=20, window=3)
  c.train.update(num_epochs=20, progress=False)
  c.evals.plot.method = "pca"
  task = make_task(c)
  assert load_graph(c.data).num_nodes == n
  _, result = loop.run(task, tmp_path / "run")
  assert result["test"]["accuracy"] >= 0.9
  assert (tmp_path / "run" / "plots" / "plot.png").stat().st_size > 1000


def test_config_errors_are_one_sentence(tmp_path):
  from dlcore.errors import ConfigError
  from experiments import make_task
  prefix = write_linqs(tmp_path / "data", ["a\t1\tX", "b\t0\tY"], ["a\tb"])
  c = graph_config(data_dir=str(tmp_path), path=str(prefix), split="nope")
  with pytest.raises(ConfigError, match=r"data\.split='nope'; valid: planetoid, random"):
    make_task(c)
  c = graph_config(data_dir=str(tmp_path), path=str(prefix), split="random", train_per_class=1,
                   num_val=0, num_test=0)
  c.model = ml_collections.ConfigDict(dict(name="mlp"))
  with pytest.raises(ConfigError, match=r"model\.name='mlp' is not a graph model"):
    make_task(c)
