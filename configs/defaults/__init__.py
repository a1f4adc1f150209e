"""Shared defaults of the configs, one module per task family, each with `get_config()`.

  classification: the supervised trainer (experiments.classification), MNIST-style sections.
  comparison:     several variants of a base config compared (experiments.comparison).
  regression:     the supervised trainer as 'regression' (MSE, linear model).
  retrieval:      metric learning with the triplet loss (experiments.retrieval).
  perceptron:     Rosenblatt's perceptron (experiments.perceptron).
  suite:          several configs run as one command (experiments.suite).

A config file starts from one of them (`c = classification.get_config()`) and overrides only
what differs, so no config repeats another's body.
"""
