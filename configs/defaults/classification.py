"""Default of the supervised classification trainer (`experiment='classification'`,
experiments/classification.py): an MLP on MNIST read from IDX files in the data dir.

Sections:
  name, experiment, seed
  data:           name, data_dir, seed, validation_size, normalize, flatten, one_hot, path,
                  num_train, num_test (prefixes of the splits; see `data_config` for the
                  keys every dataset takes)
  model:          name='mlp', features, activation, dropout_rate, batch_norm
  loss:           name='cross_entropy', reduction, l1_penalty, l2_penalty
  metrics
  optimizer:      dlcore.optim.optimizer_config('adam', 2e-3, schedule='cosine')
  train:          batch_size, num_epochs, num_steps, log_every, eval_every, checkpoint_every,
                  max_checkpoints, progress, overwrite, peak_tflops, profile_steps,
                  profile_start (throughput and profiler: dlcore.train.throughput)
  eval:           split, test_split, batch_size, reports
  early_stopping: metric, mode, patience, min_delta, restore_best (patience 0: no stopping,
                  the best state is still tracked)
  mesh:           num_devices (0: all), mode ('jit' over the mesh, or the 'pmap' compatibility
                  mode), model (size of a model axis: a 2-D data x model mesh), fsdp,
                  fsdp_min_size, rules ('tensor_parallel', or ((regex, spec), ...) in a config
                  file), logical_rules ((('heads', 'model'), ...) over the layers' logical axis
                  names, dlcore.nn.logical_axes): the state's sharding (dlcore.train.sharding)

Values are the most common ones of the configs. `get_plain_config()` is the same without the
optional keys (no early_stopping section, no eval.reports, no loss penalties).
"""

import ml_collections

from configs.defaults import PROFILING_KEYS
from dlcore.optim import optimizer_config

D = ml_collections.ConfigDict


def data_config(name: str, **fields) -> ml_collections.ConfigDict:
  """A data section with the keys every bundled or synthetic dataset takes, then `fields`
  (extra keys, or other values of these)."""
  return D(dict(dict(name=name, data_dir="", seed=0, validation_size=0, normalize="none",
                     flatten=True, one_hot=False, device_resident="auto"), **fields))


def get_config() -> ml_collections.ConfigDict:
  c = D()
  c.name = "classification"
  c.experiment = "classification"
  c.seed = 0
  c.data = data_config("mnist", normalize="standardize", path="", num_train=0, num_test=0)
  c.model = D(dict(name="mlp", features=(256, 128), activation="relu", dropout_rate=0.0,
                   batch_norm=False))
  c.loss = D(dict(name="cross_entropy", reduction="mean", l1_penalty=0.0, l2_penalty=0.0))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adam", 2e-3, schedule="cosine")
  c.train = D(dict(batch_size=128, num_epochs=15, num_steps=0, log_every=100, eval_every=0,
                   checkpoint_every=0, max_checkpoints=3, progress=True, overwrite=False,
                   **PROFILING_KEYS))
  c.eval = D(dict(split="test", test_split="test", batch_size=1000, reports=("per_class",)))
  c.early_stopping = D(dict(metric="loss", mode="min", patience=0, min_delta=0.0,
                            restore_best=False))
  c.mesh = D(dict(num_devices=0, mode="jit", model=1, fsdp=False, fsdp_min_size=1024,
                  rules="", logical_rules=""))
  return c


def get_plain_config() -> ml_collections.ConfigDict:
  """`get_config()` without its optional keys, as the exercise configs declare it: no
  early_stopping section (no best-state tracking), no eval.reports, no loss.l1_penalty /
  loss.l2_penalty (the trainer's defaults: none)."""
  c = get_config()
  del c.early_stopping, c.eval.reports, c.loss.l1_penalty, c.loss.l2_penalty
  return c
