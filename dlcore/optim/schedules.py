"""The registered learning-rate schedules (curriculum §6e SCH-1..5). Factory:
(peak_lr, schedule_cfg, total_steps) -> optax.Schedule, with t = optimizer update count.

`config.optimizer.learning_rate` is the peak/initial value; keys of `config.optimizer.schedule`:
  constant:      -
  step:          decay_steps (1000), decay_rate (0.1)            lr·rate^⌊t/decay_steps⌋
  exponential:   decay_steps (1000), decay_rate (0.5), staircase (False)   lr·rate^(t/decay_steps)
  cosine:        alpha (0.0)                                     over total_steps
  warmup_cosine: warmup_steps (0), alpha (0.0)                   0 → lr linearly, then cosine
  cyclical:      base_lr (0.1·lr), step_size (2000)              triangular, max = lr
"""

from __future__ import annotations

import optax

from dlcore.optim.config import cfg_get
from dlcore.optim.cyclical import triangular_schedule
from dlcore.optim.registries import SCHEDULES


@SCHEDULES.register("constant")
def _constant(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """lr_t = lr."""
  return optax.constant_schedule(lr)


@SCHEDULES.register("step")
def _step(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """SCH-1 step decay: lr_t = lr · decay_rate^⌊t / decay_steps⌋."""
  return optax.exponential_decay(lr, int(cfg_get(cfg, "decay_steps", 1000)),
                                 float(cfg_get(cfg, "decay_rate", 0.1)), staircase=True)


@SCHEDULES.register("exponential")
def _exponential(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """SCH-3 exponential decay: lr_t = lr · decay_rate^(t / decay_steps) (⌊·⌋ if staircase)."""
  return optax.exponential_decay(lr, int(cfg_get(cfg, "decay_steps", 1000)),
                                 float(cfg_get(cfg, "decay_rate", 0.5)),
                                 staircase=bool(cfg_get(cfg, "staircase", False)))


@SCHEDULES.register("cosine")
def _cosine(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """SCH-2 cosine annealing: lr_t = lr·((1−α)·½(1 + cos(π·min(t,T)/T)) + α), T = total_steps."""
  return optax.cosine_decay_schedule(lr, max(total_steps, 1),
                                     alpha=float(cfg_get(cfg, "alpha", 0.0)))


@SCHEDULES.register("warmup_cosine")
def _warmup_cosine(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """SCH-5 warmup + cosine: lr_t = lr·t/W for t < W, then
  lr_end + (lr − lr_end)·½(1 + cos(π·(t−W)/(T−W))), lr_end = α·lr, T = total_steps."""
  warmup = int(cfg_get(cfg, "warmup_steps", 0))
  return optax.warmup_cosine_decay_schedule(
      0.0, lr, warmup, max(total_steps, warmup + 1),
      end_value=lr * float(cfg_get(cfg, "alpha", 0.0)))


@SCHEDULES.register("cyclical")
def _cyclical(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """SCH-4 triangular cyclical LR between base_lr and lr with half-period step_size."""
  return triangular_schedule(float(cfg_get(cfg, "base_lr", 0.1 * lr)), lr,
                             int(cfg_get(cfg, "step_size", 2000)))
