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

`family(...)` builds the top-level, train and early_stopping sections of the family defaults
that do not start from the classification default (language_model, translation, rl, tabular).

A config file starts from one of them (`c = classification.get_config()`) and overrides only
what differs, so no config repeats another's body.
"""

import ml_collections

D = ml_collections.ConfigDict
TRAIN_KEYS = dict(batch_size=64, num_epochs=0, num_steps=0, log_every=100, eval_every=0,
                  checkpoint_every=500, max_checkpoints=1, progress=True, overwrite=False)


def family(experiment: str, **sections) -> ml_collections.ConfigDict:
  """name = experiment = `experiment`, seed 0, mesh.num_devices 0 (all), then `sections`;
  `train` is given as overrides of TRAIN_KEYS and `watch=(metric, mode)` becomes the tracked
  early_stopping section (patience 0: never stops early)."""
  metric, mode = sections.pop("watch")
  restore = sections.pop("restore_best", False)
  c = D(dict(name=experiment, experiment=experiment, seed=0))
  for key, value in sections.items():
    c[key] = D(dict(TRAIN_KEYS, **value)) if key == "train" else value
  c.early_stopping = D(dict(metric=metric, mode=mode, patience=0, min_delta=0.0,
                            restore_best=restore))
  c.mesh = D(dict(num_devices=0))
  return c
