"""Shared defaults of the configs, one module per task family, each with `get_config()`.

  classification: the supervised trainer (experiments.classification), MNIST-style sections.
  comparison:     several variants of a base config compared (experiments.comparison).
  regression:     the supervised trainer as 'regression' (MSE, linear model).
  retrieval:      metric learning with the triplet loss (experiments.retrieval).
  perceptron:     Rosenblatt's perceptron (experiments.perceptron).
  suite:          several configs run as one command (experiments.suite).
  text_classification: the classification trainer on SST-2 token ids (recurrent classifier).
  language_model: RNN language models with truncated BPTT (experiments.language_model).
  translation:    seq2seq encoder-decoders on Multi30k (experiments.translation).
  rl:             deep RL agents, DQN/REINFORCE/A2C/PPO, on gymnax or Atari (experiments.rl).
  tabular:        value iteration and Q-learning on a gridworld MDP (experiments.tabular).
  gan, diffusion: MNIST image generators (experiments.gan, experiments.diffusion), both from
                  `image_generation(...)`.

`family(...)` builds the top-level, train and early_stopping sections of the family defaults
that do not start from the classification default (language_model, translation, rl, tabular).

A config file starts from one of them (`c = classification.get_config()`) and overrides only
what differs, so no config repeats another's body.
"""

import ml_collections

D = ml_collections.ConfigDict
# peak_tflops (per device, 0: known accelerators' table) and profile_steps/profile_start (a
# jax.profiler trace): dlcore.train.throughput.
PROFILING_KEYS = dict(peak_tflops=0.0, profile_steps=0, profile_start=-1)
TRAIN_KEYS = dict(batch_size=64, num_epochs=0, num_steps=0, log_every=100, eval_every=0,
                  checkpoint_every=500, max_checkpoints=1, progress=True, overwrite=False,
                  **PROFILING_KEYS)


def family(experiment: str, **sections) -> ml_collections.ConfigDict:
  """name = experiment = `experiment`, seed 0, the mesh section (all devices, jit, replicated
  state: `dlcore.train.mesh`, `dlcore.train.sharding`), then `sections`;
  `train` is given as overrides of TRAIN_KEYS and `watch=(metric, mode)` becomes the tracked
  early_stopping section (patience 0: never stops early)."""
  metric, mode = sections.pop("watch")
  restore = sections.pop("restore_best", False)
  c = D(dict(name=experiment, experiment=experiment, seed=0))
  for key, value in sections.items():
    c[key] = D(dict(TRAIN_KEYS, **value)) if key == "train" else value
  c.early_stopping = D(dict(metric=metric, mode=mode, patience=0, min_delta=0.0,
                            restore_best=restore))
  c.mesh = D(dict(num_devices=0, mode="jit", model=1, fsdp=False, fsdp_min_size=1024,
                  rules="", logical_rules=""))
  return c


def image_generation(experiment: str, watch: tuple, sample_every: int
                     ) -> ml_collections.ConfigDict:
  """`family(...)` for a family that generates MNIST digits (gan, diffusion): the data section,
  one device, and the 'samples' grid (every `sample_every` steps) and 'quality' evaluators
  (FID (MNIST classifier), Inception-style score and confident share of 10,000 samples; the
  judge trains `classifier_steps` once per workdir)."""
  c = family(experiment, data=D(dict(name="mnist", data_dir="", path="", num_train=0)),
             train=dict(batch_size=64, num_steps=3000, log_every=200, checkpoint_every=1000),
             watch=watch)
  c.evals = D({"samples": D(dict(type="samples", num=64, nrow=8, every=sample_every)),
               "quality": D(dict(type="quality", num_samples=10000, batch=500,
                                 classifier_steps=2000, threshold=0.9, at_end=True))})
  c.mesh.num_devices = 1
  return c
