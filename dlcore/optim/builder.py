"""Build `optax.GradientTransformation` chains and learning-rate schedules from a config.

Config shape (``config.optimizer``)::

  name: 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad'
  learning_rate: float          # peak value for schedules
  momentum: float               # momentum/nesterov (beta), default 0.9
  b1, b2, eps: float            # adam/adamw (0.9, 0.999, 1e-8; eps outside the root, §0 item 16)
  weight_decay: float           # adamw decoupled decay (0 = none)
  grad_clip_norm: float         # clip by global norm before the update (0 = off; REG-7)
  schedule: ConfigDict(name='constant' | 'cosine' | 'warmup_cosine' | 'exponential' | 'step',
                       warmup_steps, decay_rate, decay_steps, boundaries_and_scales...)
"""

from __future__ import annotations

from typing import Any, Callable

import optax

from dlcore.errors import ConfigError
from dlcore.registry import Registry

OPTIMIZERS: Registry = Registry("optimizer")
SCHEDULES: Registry = Registry("schedule")


def _get(cfg, key: str, default: Any) -> Any:
  return cfg.get(key, default) if cfg is not None else default


@SCHEDULES.register("constant")
def _constant(lr: float, cfg, total_steps: int) -> optax.Schedule:
  return optax.constant_schedule(lr)


@SCHEDULES.register("cosine")
def _cosine(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """SCH-2 cosine annealing from lr to lr*alpha over the whole run."""
  return optax.cosine_decay_schedule(lr, max(total_steps, 1), alpha=_get(cfg, "alpha", 0.0))


@SCHEDULES.register("warmup_cosine")
def _warmup_cosine(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """Linear warmup from 0 to lr, then cosine decay to lr*alpha at the last step."""
  warmup = int(_get(cfg, "warmup_steps", 0))
  return optax.warmup_cosine_decay_schedule(
      0.0, lr, warmup, max(total_steps, warmup + 1), end_value=lr * _get(cfg, "alpha", 0.0))


@SCHEDULES.register("exponential")
def _exponential(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """SCH-3 lr * decay_rate ** (step / decay_steps)."""
  return optax.exponential_decay(lr, int(_get(cfg, "decay_steps", 1000)),
                                 _get(cfg, "decay_rate", 0.5),
                                 staircase=bool(_get(cfg, "staircase", False)))


@SCHEDULES.register("step")
def _step(lr: float, cfg, total_steps: int) -> optax.Schedule:
  """SCH-1 step decay: multiply by decay_rate every decay_steps steps."""
  return optax.exponential_decay(lr, int(_get(cfg, "decay_steps", 1000)),
                                 _get(cfg, "decay_rate", 0.1), staircase=True)


def build_schedule(opt_cfg, total_steps: int) -> optax.Schedule:
  sched_cfg = _get(opt_cfg, "schedule", None)
  name = _get(sched_cfg, "name", "constant")
  return SCHEDULES.get(name)(float(opt_cfg.learning_rate), sched_cfg, total_steps)


@OPTIMIZERS.register("sgd")
def _sgd(lr: optax.ScalarOrSchedule, cfg) -> optax.GradientTransformation:
  """OPT-1..4 plain (full-batch, stochastic or mini-batch) gradient descent: θ ← θ − α g."""
  return optax.sgd(lr)


@OPTIMIZERS.register("momentum")
def _momentum(lr, cfg) -> optax.GradientTransformation:
  """OPT-6 classical (heavy-ball) momentum: v ← βv + g, θ ← θ − αv."""
  return optax.sgd(lr, momentum=_get(cfg, "momentum", 0.9))


@OPTIMIZERS.register("nesterov")
def _nesterov(lr, cfg) -> optax.GradientTransformation:
  return optax.sgd(lr, momentum=_get(cfg, "momentum", 0.9), nesterov=True)


@OPTIMIZERS.register("adam")
def _adam(lr, cfg) -> optax.GradientTransformation:
  """OPT-7 Adam with ε outside the square root (§0 item 16)."""
  return optax.adam(lr, b1=_get(cfg, "b1", 0.9), b2=_get(cfg, "b2", 0.999),
                    eps=_get(cfg, "eps", 1e-8))


@OPTIMIZERS.register("adamw")
def _adamw(lr, cfg) -> optax.GradientTransformation:
  return optax.adamw(lr, b1=_get(cfg, "b1", 0.9), b2=_get(cfg, "b2", 0.999),
                     eps=_get(cfg, "eps", 1e-8), weight_decay=_get(cfg, "weight_decay", 1e-4))


@OPTIMIZERS.register("rmsprop")
def _rmsprop(lr, cfg) -> optax.GradientTransformation:
  return optax.rmsprop(lr, decay=_get(cfg, "decay", 0.9), eps=_get(cfg, "eps", 1e-8))


@OPTIMIZERS.register("adagrad")
def _adagrad(lr, cfg) -> optax.GradientTransformation:
  return optax.adagrad(lr, eps=_get(cfg, "eps", 1e-8))


def build_optimizer(opt_cfg, total_steps: int) -> tuple[optax.GradientTransformation,
                                                         Callable[[Any], Any]]:
  """Returns (tx, schedule). Gradient clipping (if any) is applied before the optimizer."""
  if opt_cfg is None or "name" not in opt_cfg:
    raise ConfigError("config.optimizer.name is missing; set e.g. --config.optimizer.name=adam.")
  schedule = build_schedule(opt_cfg, total_steps)
  parts = []
  clip = float(_get(opt_cfg, "grad_clip_norm", 0.0) or 0.0)
  if clip > 0:
    parts.append(optax.clip_by_global_norm(clip))
  parts.append(OPTIMIZERS.get(opt_cfg.name)(schedule, opt_cfg))
  return optax.chain(*parts), schedule
