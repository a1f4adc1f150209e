"""Default of the word-vector family (`experiment='embeddings'`, experiments/embeddings.py):
word2vec skip-gram with negative sampling on the SST-2 train phrases. `get_config('glove')`
gives GloVe on the same corpus.

Sections:
  name, experiment, seed
  data:      data_dir, corpus ('shakespeare', 'sst2', 'multi30k', or a tuple of them), text (a
             list of sentences instead), min_count, words_only, window, subsample (t of the
             discard probability 1 − sqrt(t / f(w)); 0: none), dynamic_window
  model:     'skipgram': variant ('skipgram' or 'cbow'), features; 'glove': features
  loss:      word2vec: name ('softmax' or 'negative_sampling'), negatives (k), noise_power;
             GloVe: name 'glove', x_max, alpha
  optimizer: Adam (word2vec) or canonical AdaGrad, lr 0.05 (GloVe, as the paper)
  evals:     'neighbours' (table of cosine neighbours, at the end), 'probe' (SST-2
             averaged-vector logistic regression vs bag of words, at the end); add 'overlap'
             (`other`: another run) to compare two runs' neighbours
  train:     batch_size (examples: pairs, CBOW windows or co-occurrence entries), num_epochs,
             log_every, ...
  mesh:      num_devices (1)
"""

import ml_collections

from configs.defaults import D, family
from dlcore.optim import optimizer_config

DATA = dict(data_dir="", corpus=("sst2",), min_count=5, words_only=True, window=5,
            subsample=1e-4, dynamic_window=True)


def get_config(method: str = "word2vec") -> ml_collections.ConfigDict:
  glove = method == "glove"
  c = family("embeddings", data=D(DATA),
             train=dict(batch_size=1024, num_epochs=3, log_every=200, checkpoint_every=5000,
                        progress=False),
             watch=("accuracy", "max"))
  c.model = D(dict(name="skipgram", variant="skipgram", features=100))
  c.loss = D(dict(name="negative_sampling", negatives=5, noise_power=0.75))
  c.optimizer = optimizer_config("adam", 2e-3)
  c.evals = D({"neighbours": D(dict(type="neighbours", count=20, k=10, at_end=True)),
               "probe": D(dict(type="probe", C=1.0, normalize="standard", at_end=True))})
  if glove:
    c.data.window = 10
    c.model = D(dict(name="glove", features=100))
    c.loss = D(dict(name="glove", x_max=100.0, alpha=0.75))
    c.optimizer = optimizer_config("adagrad", 0.05)
  c.mesh.num_devices = 1
  return c
