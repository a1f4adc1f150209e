"""Optimizers as Optax chains built from a config (curriculum §6a, §6b REG-1/2/7, §6e)."""

from dlcore.optim.adagrad import adagrad, scale_by_adagrad
from dlcore.optim.builder import build_optimizer, build_schedule
from dlcore.optim.config import optimizer_config
from dlcore.optim.cyclical import triangular_schedule
from dlcore.optim.ema import ParamEmaState, ema_params, ema_update, param_ema
from dlcore.optim.ema_momentum import ema_momentum, scale_by_ema_momentum
from dlcore.optim.freeze import freeze, freeze_labels, param_path
from dlcore.optim.l2 import decay_mask, l2_coupled, no_bias_mask
from dlcore.optim.registries import OPTIMIZERS, SCHEDULES

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "adagrad", "build_optimizer", "build_schedule", "decay_mask",
    "optimizer_config",
    "ParamEmaState", "ema_params", "param_ema",
    "ema_momentum", "ema_update", "freeze", "freeze_labels", "l2_coupled", "no_bias_mask",
    "param_path", "scale_by_adagrad", "scale_by_ema_momentum", "triangular_schedule",
]
