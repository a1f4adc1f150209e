"""`Evaluator` and `parse_evals`: the evaluations of a run, chosen in `config.evals`.

``config.evals`` maps a name to a spec::

  evals = {'eval': {'type': 'metrics', 'split': 'validation', 'every': 100},
           'test': {'type': 'metrics', 'split': 'test', 'at_end': True},
           'reports': {'type': 'reports', 'split': 'test', 'at_end': True, 'event': 'test'}}

- ``type``: which evaluator (the family lists the types it offers);
- ``split``: the data split it reads (if it reads one);
- ``every``: run every N training steps (0: never periodically; the last step always counts);
- ``at_end``: run once after training on the final state (the best state when early stopping
  restores it);
- ``event``: the `split` name of its events in metrics.jsonl (default: its own name), so that
  several evaluators can add to one event (the final 'test' event holds the metrics and the
  reports).

Any other key is the evaluator's own option. The evaluator's function
`run(state, step_args, workdir)` returns {name: value}; values that are not numbers (paths of
the pictures it wrote under `workdir`) go into the run's result but not into the logs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from dlcore.errors import ConfigError
from dlcore.registry import closest

COMMON_KEYS = ("type", "split", "every", "at_end", "event")
Factory = Callable[[str, dict], Callable[..., dict]]


@dataclasses.dataclass
class Evaluator:
  """One evaluation: `run(state, step_args, workdir) -> {metric: value}`."""
  name: str
  run: Callable[..., dict]
  every: int = 0
  at_end: bool = True
  split: str = ""
  event: str = ""
  writes_files: bool = False  # pictures and files: skipped by `launch.eval`
  spec: dict = dataclasses.field(default_factory=dict)
  factory: Factory | None = None

  def __post_init__(self):
    self.event = self.event or self.name

  def due(self, step: int, last_step: int) -> bool:
    return self.every > 0 and (step % self.every == 0 or step == last_step)

  def on_split(self, split: str) -> "Evaluator":
    """The same evaluator reading another split (for `launch.eval --split`)."""
    if self.factory is None or not self.split or split == self.split:
      return self
    spec = dict(self.spec, split=split)
    return dataclasses.replace(self, run=self.factory(self.name, spec), split=split, spec=spec)


def _as_dict(spec: Any) -> dict:
  return spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)


def _int(name: str, key: str, value: Any) -> int:
  if isinstance(value, bool) or not isinstance(value, int) or value < 0:
    raise ConfigError(f"evals.{name}.{key} must be an int >= 0, got {value!r}.")
  return value


def parse_evals(specs: Mapping[str, Any], factories: Mapping[str, Factory],
                options: Mapping[str, tuple[str, ...]] | None = None,
                writes_files: tuple[str, ...] = ()) -> list[Evaluator]:
  """Evaluators from {name: spec}, each built by `factories[spec['type']](name, spec)`.

  `options[type]` lists the extra keys a type accepts; an unknown type or key is a ConfigError
  naming the valid ones.
  """
  out = []
  for name, raw in specs.items():
    spec = _as_dict(raw)
    kind = spec.get("type", "")
    if kind not in factories:
      hint = closest(str(kind), factories)
      raise ConfigError(f"evals.{name}.type={kind!r} is not an evaluator of this task"
                        + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f"; valid types: {', '.join(sorted(factories))}.")
    valid = COMMON_KEYS + tuple((options or {}).get(kind, ()))
    for key in spec:
      if key not in valid:
        hint = closest(key, valid)
        raise ConfigError(f"unknown key evals.{name}.{key}"
                          + (f" (did you mean {hint[0]!r}?)" if hint else "")
                          + f"; valid keys for type {kind!r}: {', '.join(valid)}.")
    every = _int(name, "every", spec.get("every", 0))
    at_end = bool(spec.get("at_end", every == 0))
    out.append(Evaluator(name=name, run=factories[kind](name, spec), every=every, at_end=at_end,
                         split=str(spec.get("split", "")), event=str(spec.get("event", "")),
                         writes_files=kind in writes_files, spec=spec,
                         factory=factories[kind]))
  return out
