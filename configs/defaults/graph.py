"""Default of the graph family (`experiment='graph'`, experiments/graph.py): GCN (Kipf &
Welling 2017) on Cora, full batch, the standard Planetoid split (140 / 500 / 1,000 nodes).
`get_config('walks')` gives the DeepWalk / node2vec variant: skip-gram embeddings on random walks
judged by a logistic-regression probe.

Sections:
  name, experiment, seed
  data:      data_dir, path (LINQS <path>.content/.cites, or their folder), split
             ('planetoid' or 'random'), planetoid (prefix of the Planetoid files),
             train_per_class, num_val, num_test, split_seed (split='random'),
             normalize_features ('row' or 'none')
  model:     'gcn': hidden, num_layers, dropout_rate, use_bias; 'gat': hidden, num_heads,
             output_heads, dropout_rate, attention_dropout; 'mpnn'; 'skipgram': features
  optimizer: Adam 0.01 with the papers' L2 term 5e-4 (`l2_coupled`, kernels only; none for
             the skip-gram tables)
  walks:     (skip-gram) length, per_node (walks from each node per epoch), window, p, q,
             negatives, noise_power, batch (walks per step)
  probe:     (skip-gram) C, normalize ('none', 'l2', 'standard'), max_iter
  evals:     'eval' (val nodes, every epoch), 'test' (test nodes, at the end); the walk
             variant's are probes; 'plot' (t-SNE of the last hidden layer / the embeddings)
  train:     num_epochs (one full-batch step an epoch; walks: `walks.per_node` walks per node),
             log_every, checkpoint_every, ...
  early_stopping: the validation loss (walks: the validation probe accuracy), tracked
  mesh:      num_devices (1: a full-batch graph is not split over devices)
"""

import ml_collections

from configs.defaults import D, family
from dlcore.optim import optimizer_config

DATA = dict(data_dir="", path="cora/linqs/cora", split="planetoid",
            planetoid="cora/planetoid/ind.cora", train_per_class=20, num_val=500, num_test=1000,
            split_seed=0, normalize_features="row")


def _evals(kind: str, every: int) -> D:
  return D({"eval": D(dict(type=kind, split="val", every=every, at_end=False)),
            "test": D(dict(type=kind, split="test", at_end=True))})


def get_config(method: str = "gnn") -> ml_collections.ConfigDict:
  walks = method == "walks"
  c = family("graph", data=D(DATA),
             train=dict(num_epochs=200 if not walks else 10, log_every=10 if not walks else 50,
                        checkpoint_every=1000, progress=False),
             watch=("accuracy", "max") if walks else ("loss", "min"))
  c.model = D(dict(name="gcn", hidden=16, num_layers=2, dropout_rate=0.5, use_bias=True))
  c.optimizer = optimizer_config("adam", 0.01, l2_coupled=5e-4, weight_decay_mask="no_bias")
  c.walks = D(dict(length=40, per_node=1, window=10, p=1.0, q=1.0, negatives=5,
                   noise_power=0.75, batch=64))
  c.probe = D(dict(C=1.0, normalize="none", max_iter=1000))
  c.evals = _evals("metrics", 1)
  if walks:
    c.model = D(dict(name="skipgram", features=128))
    c.optimizer.l2_coupled = 0.0
    c.evals = _evals("probe", 0)
  c.evals.plot = D(dict(type="plot", method="tsne", at_end=True))
  c.mesh.num_devices = 1
  return c
