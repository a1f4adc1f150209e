"""Optimizers as Optax chains built from a config (curriculum §6a, §6e, REG-7)."""

from dlcore.optim.builder import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule

__all__ = ["OPTIMIZERS", "SCHEDULES", "build_optimizer", "build_schedule"]
