"""Early stopping on any monitored eval metric (curriculum REG-5)."""

from __future__ import annotations

import dataclasses
import math

from dlcore.errors import ConfigError


@dataclasses.dataclass
class EarlyStopping:
  """Stop when `metric` has not improved by `min_delta` for `patience` evaluations.

  patience=0 disables stopping (the best state is still tracked).
  """
  metric: str = "loss"
  mode: str = "min"
  patience: int = 0
  min_delta: float = 0.0
  best: float | None = None
  best_step: int = -1
  bad_evals: int = 0

  def __post_init__(self):
    if self.mode not in ("min", "max"):
      raise ConfigError(f"early_stopping.mode={self.mode!r}; use 'min' or 'max'.")

  def improved(self, value: float) -> bool:
    if not math.isfinite(value):
      return False
    if self.best is None:
      return True
    if self.mode == "min":
      return value < self.best - self.min_delta
    return value > self.best + self.min_delta

  def update(self, metrics: dict, step: int) -> tuple[bool, bool]:
    """Feed one evaluation; returns (improved, should_stop)."""
    if self.metric not in metrics:
      raise ConfigError(f"early_stopping.metric={self.metric!r} is not an eval metric; "
                        f"choose one of {', '.join(sorted(metrics))}.")
    value = float(metrics[self.metric])
    better = self.improved(value)
    if better:
      self.best, self.best_step, self.bad_evals = value, step, 0
    else:
      self.bad_evals += 1
    return better, self.patience > 0 and self.bad_evals >= self.patience

  def state_dict(self) -> dict:
    return {"best": self.best, "best_step": self.best_step, "bad_evals": self.bad_evals}

  def load_state_dict(self, d: dict) -> None:
    self.best = d.get("best")
    self.best_step = int(d.get("best_step", -1))
    self.bad_evals = int(d.get("bad_evals", 0))
