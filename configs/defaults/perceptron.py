"""Default of Rosenblatt's perceptron (`experiment='perceptron'`, experiments/perceptron.py) on
the linearly separable 4-feature sum>0 task.

Sections:
  name, experiment, seed
  data:       name='sum4', data_dir, seed, validation_size
  model:      name='perceptron'
  perceptron: learning_rate
  train:      num_steps (the most epochs: one step is one epoch), log_every, checkpoint_every
  eval:       test_split
"""

import ml_collections

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = D()
  c.name = "perceptron"
  c.experiment = "perceptron"
  c.seed = 0
  c.data = D(dict(name="sum4", data_dir="", seed=42, validation_size=0))
  c.model = D(dict(name="perceptron"))
  c.perceptron = D(dict(learning_rate=1.0))
  c.train = D(dict(num_steps=100, log_every=1, checkpoint_every=0, max_checkpoints=1,
                   progress=False))
  c.eval = D(dict(test_split="test"))
  return c
