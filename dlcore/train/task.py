"""The task protocol: what a task family gives the one training loop.

`experiments/<family>.py` exposes `make_task(config) -> Task`. The loop (`dlcore.train.loop.run`)
and the launchers (`launch.train`, `launch.eval`) use nothing else:

- `init(rng) -> TrainState`: the initial state (placed on the mesh by the loop);
- `train_step(state, batch, *step_args) -> (state, metrics)`: pure, jitted once by the loop;
  `metrics` are additive sums (`PackedAverages`), so merging steps is addition;
- `batches`: a `BatchSource` with an exact `get_state`/`set_state` (saved in every
  checkpoint), or None for a task that makes its data inside the step (RL under `lax.scan`);
- `evaluators`: the `dlcore.evals.Evaluator`s chosen by `config.evals` (every N steps and/or at
  the end);
- `step_args`: extra jit arguments (a frozen teacher's variables), passed in, never baked in;
- `state_sharding(mesh, abstract_state)`: the state's shardings (None: replicated);
- `assets`: text files the state depends on (a vocabulary), written into the workdir and checked
  against it whenever a checkpoint is used again (`dlcore.train.assets`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Protocol, Sequence, runtime_checkable

from jax.sharding import Mesh

from dlcore.evals.base import Evaluator


@runtime_checkable
class BatchSource(Protocol):
  """An endless iterator of host batches whose position can be saved and restored exactly."""

  def __next__(self) -> Any: ...

  def get_state(self) -> dict: ...

  def set_state(self, state: dict) -> None: ...


@dataclasses.dataclass
class Task:
  config: Any
  mesh: Mesh
  init: Callable[[Any], Any]
  train_step: Callable
  batches: BatchSource | Iterator | None
  evaluators: Sequence[Evaluator] = ()
  step_args: tuple = ()
  state_sharding: Callable[[Mesh, Any], Any] | None = None
  steps_per_epoch: int = 0  # for train.num_epochs (0: the task counts steps only)
  stop_when: Callable[[dict], bool] | None = None  # stop early on the logged train metrics
  plot_metrics: Sequence[str] | None = None  # None: every metric the task reports
  summary: dict = dataclasses.field(default_factory=dict)  # banner lines: {label: text}
  summary_part: str | None = "model"  # the part whose parameter table the banner prints
  assets: dict = dataclasses.field(default_factory=dict)  # {file: text} kept in the workdir

  def evaluator(self, name: str) -> Evaluator:
    for e in self.evaluators:
      if e.name == name:
        return e
    raise KeyError(name)
