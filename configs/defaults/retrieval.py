"""Default of metric learning for image retrieval (`experiment='retrieval'`,
experiments/retrieval.py): an embedding network trained with the triplet loss on MNIST,
evaluated by recall@k of nearest-neighbour search on the test split.

Sections: configs.defaults.classification's plain sections (no early_stopping: retrieval does
not use it; no eval.reports) with
  embedding_dim: the model's output size
  recall_ks:     the k of recall@k
  data:          num_test (0: the whole test split), images not flattened
  model:         SimpleCNN (no hidden layer) mapping an image to its embedding
  loss:          name='triplet', margin, mining, squared, reduction
  metrics:       () (the only training/eval metric is the loss)
"""

import ml_collections

from configs.defaults import classification


def get_config() -> ml_collections.ConfigDict:
  c = classification.get_plain_config()
  c.name = "retrieval"
  c.experiment = "retrieval"
  c.embedding_dim = 32
  c.recall_ks = (1, 5)
  c.data.update(num_test=0, flatten=False)
  c.model.update(name="simple_cnn", features=(32, 64), hidden=0)
  c.loss = ml_collections.ConfigDict(dict(name="triplet", margin=0.2, mining="batch_hard",
                                          squared=False, reduction="mean"))
  c.metrics = ()
  return c
