"""The name -> factory registries for optimizers and learning-rate schedules.

`OPTIMIZERS.get(name)(learning_rate_or_schedule, opt_cfg) -> optax.GradientTransformation`
`SCHEDULES.get(name)(peak_lr, schedule_cfg, total_steps) -> optax.Schedule`
An unknown name raises `dlcore.errors.ConfigError` (with a 'did you mean' hint).
"""

from dlcore.registry import Registry

OPTIMIZERS: Registry = Registry("optimizer")
SCHEDULES: Registry = Registry("schedule")
