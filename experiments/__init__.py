"""Task families, one module each, found by the name in `config.experiment`.

Each module exposes `make_task(config) -> dlcore.train.task.Task`; the shared loop and the
launchers need nothing else. Experiment modules import dlcore only, never each other.
"""

from __future__ import annotations

import importlib

from dlcore.registry import Registry

EXPERIMENTS: Registry = Registry("experiment")
for _name, _module in (("classification", "classification"), ("regression", "classification"),
                       ("perceptron", "perceptron"), ("retrieval", "retrieval"),
                       ("language_model", "language_model"), ("translation", "translation"),
                       ("rl", "rl"), ("tabular", "tabular"), ("pretraining", "pretraining"),
                       ("graph", "graph"), ("autoencoder", "autoencoder"),
                       ("gan", "gan"), ("diffusion", "diffusion"),
                       ("embeddings", "embeddings"), ("meta", "meta"),
                       ("contrastive", "contrastive")):
  EXPERIMENTS.add(_name, f"experiments.{_module}")


def make_task(config):
  """The task of `config.experiment`, built from the config."""
  return importlib.import_module(EXPERIMENTS.get(config.experiment)).make_task(config)
