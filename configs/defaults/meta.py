"""Default of the meta-learning family (`experiment='meta'`, experiments/meta.py): MAML on
sinusoid regression as Finn et al. 2017 §5.1 (MLP 1-40-40-1 ReLU, K = 10, 25 tasks a step, one
inner SGD step of 0.01, Adam 1e-3 outside).

Sections:
  name, experiment, seed
  meta:      method ('maml' or 'pretrain', the joint-regression baseline), first_order,
             inner_lr, inner_steps, shots (K support = K query points), tasks_per_step
  model:     the MLP (features, activation)
  optimizer: the outer (meta) optimizer, Adam 1e-3
  evals:     'test': 'adaptation' at the end (1,000 new sinusoids, K = 10 shots, SGD of the
             step size in 0.0003, 0.001, 0.003, 0.01 best on 1,000 validation sinusoids,
             MSE after 0..10 steps on 100 query points each)
  train:     num_steps, log_every, ...
  mesh:      num_devices (1)
"""

import ml_collections

from configs.defaults import D, family
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = family("meta", train=dict(num_steps=20000, log_every=2000, checkpoint_every=10000,
                                progress=False),
             watch=("loss", "min"))
  c.meta = D(dict(method="maml", first_order=False, inner_lr=0.01, inner_steps=1, shots=10,
                  tasks_per_step=25))
  c.model = D(dict(name="mlp", features=(40, 40), activation="relu"))
  c.optimizer = optimizer_config("adam", 1e-3)
  c.evals = D({"test": D(dict(type="adaptation", shots=10, steps=10,
                              lr=(0.0003, 0.001, 0.003, 0.01), num_tasks=1000, query=100,
                              seed=1234, compare=(), at_end=True))})
  c.mesh.num_devices = 1
  return c
