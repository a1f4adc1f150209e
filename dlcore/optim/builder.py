"""Build the `optax.GradientTransformation` chain and the LR schedule from `config.optimizer`.

Config keys (all but `name` optional, read with `.get`)::

  name: 'sgd' | 'ema_momentum' | 'momentum' | 'nesterov' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad'
  learning_rate: float      # peak/initial value of the schedule (1e-3)
  momentum, b1, b2, eps, weight_decay, weight_decay_mask, decay, eps_in_sqrt,
  initial_accumulator_value # per optimizer, see dlcore/optim/optimizers.py
  l2_coupled: float         # λ of the coupled L2 penalty, g += (λ/m)W (0 = off; REG-1)
  l2_num_examples: int      # m in λ/m (1)
  grad_clip_value: float    # clip each gradient entry to [−c, c] (0 = off)
  grad_clip_norm: float     # clip by global norm, g ← g·min(1, c/||g||) (0 = off; REG-7)
  accumulate_steps: int     # optax.MultiSteps: one update per k micro-batches (1 = off)
  freeze: tuple[str, ...]   # regexes on 'Dense_0/kernel'-style paths whose params never change
  layer_decay: float        # layer-wise lr decay: layer i of L learns at lr·d^(L−i) (1 = off)
  ema_decay: float          # keep θ̄ ← d θ̄ + (1 − d) θ in the optimizer state (0 = off)
  loss_scale: str           # 'none' | 'dynamic' (float16 training; dlcore/optim/loss_scale.py)
  loss_scale_init: float    # the first loss scale S (2^15)
  loss_scale_period: int    # finite steps in a row before S doubles (2000)
  schedule: ConfigDict(name=..., see dlcore/optim/schedules.py)

Order of the chain: L2 → clip by value → clip by norm → optimizer (with the schedule), wrapped
in `freeze` (multi_transform), then the layer-wise lr scaling (`layer_decay`), then the
parameter EMA (`param_ema`, last: it sees the final
update), all wrapped in `MultiSteps` (so clipping sees the mean gradient and θ̄ moves once per
real update), and outermost the dynamic loss scale (it unscales the gradients first).

Values are range-checked first (`check_optimizer_config`): e.g. a learning_rate that is <= 0
or NaN, or a negative schedule.warmup_steps, is one `ConfigError` naming the key and its range.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import optax

from dlcore.errors import ConfigError
from dlcore.optim import optimizers as _optimizers  # noqa: F401  (registers the optimizers)
from dlcore.optim import schedules as _schedules  # noqa: F401  (registers the schedules)
from dlcore.optim.config import cfg_get
from dlcore.optim.ema import param_ema
from dlcore.optim.freeze import freeze
from dlcore.optim.layer_decay import layer_decay
from dlcore.optim.l2 import decay_mask, l2_coupled
from dlcore.optim.loss_scale import with_loss_scale
from dlcore.optim.registries import OPTIMIZERS, SCHEDULES


# key -> (kind, lower bound, lower bound included, upper bound or None, upper included).
# kind 'float' must be a finite real number, 'int' a whole number.
_OPTIMIZER_RANGES = {
    "learning_rate": ("float", 0.0, False, None, False),
    "momentum": ("float", 0.0, True, 1.0, True),
    "b1": ("float", 0.0, True, 1.0, False),
    "b2": ("float", 0.0, True, 1.0, False),
    "eps": ("float", 0.0, True, None, False),
    "weight_decay": ("float", 0.0, True, None, False),
    "decay": ("float", 0.0, True, 1.0, True),
    "initial_accumulator_value": ("float", 0.0, True, None, False),
    "l2_coupled": ("float", 0.0, True, None, False),
    "l2_num_examples": ("int", 1, True, None, False),
    "grad_clip_value": ("float", 0.0, True, None, False),
    "grad_clip_norm": ("float", 0.0, True, None, False),
    "layer_decay": ("float", 0.0, False, 1.0, True),
}
_SCHEDULE_RANGES = {
    "warmup_steps": ("int", 0, True, None, False),
    "decay_steps": ("int", 1, True, None, False),
    "decay_rate": ("float", 0.0, False, None, False),
    "alpha": ("float", 0.0, True, None, False),
    "base_lr": ("float", 0.0, True, None, False),
    "step_size": ("int", 1, True, None, False),
}


def _range_text(kind: str, lo, lo_in: bool, hi, hi_in: bool) -> str:
  what = "a finite number" if kind == "float" else "an integer"
  if hi is None:
    return f"{what} {'>=' if lo_in else '>'} {lo:g}"
  return f"{what} in {'[' if lo_in else '('}{lo:g}, {hi:g}{']' if hi_in else ')'}"


def _check_value(where: str, key: str, value, spec) -> None:
  kind, lo, lo_in, hi, hi_in = spec
  flag = f"--config.{where}.{key}"
  valid = _range_text(*spec)
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise ConfigError(f"{where}.{key}={value!r} is not a number; it must be {valid}: "
                      f"fix {flag}.")
  x = float(value)
  ok = math.isfinite(x) and (x >= lo if lo_in else x > lo)
  if ok and hi is not None:
    ok = x <= hi if hi_in else x < hi
  if ok and kind == "int":
    ok = x == int(x)
  if not ok:
    raise ConfigError(f"{where}.{key}={value!r} is out of range; it must be {valid}: "
                      f"fix {flag}.")


def check_optimizer_config(opt_cfg) -> None:
  """ConfigError naming the key and its valid range for a non-finite or out-of-range value of
  `config.optimizer` (e.g. learning_rate <= 0 or NaN) or of `config.optimizer.schedule`
  (e.g. warmup_steps < 0). Unset (missing or None) keys are not checked."""
  for key, spec in _OPTIMIZER_RANGES.items():
    value = cfg_get(opt_cfg, key, None)
    if value is not None:
      _check_value("optimizer", key, value, spec)
  sched_cfg = cfg_get(opt_cfg, "schedule", None)
  if sched_cfg is None:
    return
  for key, spec in _SCHEDULE_RANGES.items():
    value = cfg_get(sched_cfg, key, None)
    if value is not None:
      _check_value("optimizer.schedule", key, value, spec)


def build_schedule(opt_cfg, total_steps: int) -> optax.Schedule:
  """The schedule named by `opt_cfg.schedule.name` ('constant' if absent), peak = learning_rate,
  over `total_steps` optimizer updates (SCH-1..5)."""
  check_optimizer_config(opt_cfg)
  sched_cfg = cfg_get(opt_cfg, "schedule", None)
  name = cfg_get(sched_cfg, "name", "constant")
  factory = SCHEDULES.get(name)
  return factory(float(cfg_get(opt_cfg, "learning_rate", 1e-3)), sched_cfg, int(total_steps))


def build_optimizer(opt_cfg, total_steps: int) -> tuple[optax.GradientTransformation,
                                                         Callable[[Any], Any]]:
  """Returns (tx, schedule) for `total_steps` train steps (micro-batches).

  With `accumulate_steps = k > 1` the optimizer (and its schedule) advances once every k calls,
  θ ← θ − α·opt(mean of the k gradients), so the schedule spans ⌈total_steps / k⌉ updates.
  """
  if opt_cfg is None or cfg_get(opt_cfg, "name", None) is None:
    raise ConfigError("config.optimizer.name is missing; set e.g. --config.optimizer.name=adam.")
  check_optimizer_config(opt_cfg)
  k = int(cfg_get(opt_cfg, "accumulate_steps", 1))
  if k < 1:
    raise ConfigError(f"config.optimizer.accumulate_steps must be >= 1, got {k}.")
  schedule = build_schedule(opt_cfg, math.ceil(max(int(total_steps), 1) / k))
  optimizer = OPTIMIZERS.get(opt_cfg.name)(schedule, opt_cfg)

  parts = []
  lam = float(cfg_get(opt_cfg, "l2_coupled", 0.0))
  if lam > 0:
    parts.append(l2_coupled(lam, int(cfg_get(opt_cfg, "l2_num_examples", 1)),
                            mask=decay_mask(cfg_get(opt_cfg, "weight_decay_mask", "no_bias"))))
  clip_value = float(cfg_get(opt_cfg, "grad_clip_value", 0.0))
  if clip_value > 0:
    parts.append(optax.clip(clip_value))
  clip_norm = float(cfg_get(opt_cfg, "grad_clip_norm", 0.0))
  if clip_norm > 0:
    parts.append(optax.clip_by_global_norm(clip_norm))
  parts.append(optimizer)

  tx = freeze(optax.chain(*parts), tuple(cfg_get(opt_cfg, "freeze", ())))
  tx = layer_decay(tx, float(cfg_get(opt_cfg, "layer_decay", 1.0)))
  ema_decay = float(cfg_get(opt_cfg, "ema_decay", 0.0))
  if ema_decay != 0.0:
    tx = optax.chain(tx, param_ema(ema_decay))
  if k > 1:
    tx = optax.MultiSteps(tx, every_k_schedule=k).gradient_transformation()
  tx = with_loss_scale(tx, str(cfg_get(opt_cfg, "loss_scale", "none")),
                       float(cfg_get(opt_cfg, "loss_scale_init", 2.0 ** 15)),
                       int(cfg_get(opt_cfg, "loss_scale_period", 2000)))
  return tx, schedule
