"""Task trainers, one per task family, found by the name in `config.experiment`.

Each experiment module provides `train_and_evaluate(config, workdir) -> dict` and
`evaluate(config, workdir, split) -> dict` (restore the latest checkpoint and evaluate).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable

from dlcore.registry import Registry


@dataclasses.dataclass(frozen=True)
class Experiment:
  module: str

  def _load(self):
    return importlib.import_module(self.module)

  @property
  def train_and_evaluate(self) -> Callable:
    return self._load().train_and_evaluate

  @property
  def evaluate(self) -> Callable:
    return self._load().evaluate

  @property
  def class_report(self) -> Callable:
    return self._load().class_report

  @property
  def final_params(self) -> Callable:
    return self._load().final_params


EXPERIMENTS: Registry = Registry("experiment")
EXPERIMENTS.add("classification", Experiment("experiments.classification"))
EXPERIMENTS.add("regression", Experiment("experiments.classification"))
EXPERIMENTS.add("perceptron", Experiment("experiments.perceptron"))
EXPERIMENTS.add("comparison", Experiment("experiments.comparison"))
EXPERIMENTS.add("retrieval", Experiment("experiments.retrieval"))
EXPERIMENTS.add("suite", Experiment("experiments.suite"))


def get_experiment(config) -> Experiment:
  return EXPERIMENTS.get(config.experiment)
