"""Reading `config.optimizer` keys: every key is optional and read with `.get` and a default."""

from __future__ import annotations

from typing import Any

from dlcore.config import cfg_get  # noqa: F401  (re-exported for dlcore.optim modules)


def optimizer_config(name: str, learning_rate: float, schedule: str = "constant",
                     **overrides: Any):
  """A `config.optimizer` ConfigDict that declares every key `build_optimizer` reads, with its
  default, so any of them can be overridden from the command line
  (e.g. `--config.optimizer.grad_clip_value=1.0`, `--config.optimizer.schedule.warmup_steps=500`).

  Keys whose default depends on another value (schedule `decay_rate`, `base_lr`) are typed
  placeholders: unset means "the builder's default".
  """
  import ml_collections
  from ml_collections import config_dict

  c = ml_collections.ConfigDict(dict(
      name=name, learning_rate=float(learning_rate), momentum=0.9, b1=0.9, b2=0.999, eps=1e-8,
      weight_decay=1e-4, weight_decay_mask="no_bias", decay=0.9, eps_in_sqrt=False,
      initial_accumulator_value=0.0, l2_coupled=0.0, l2_num_examples=1, grad_clip_value=0.0,
      grad_clip_norm=0.0, accumulate_steps=1, freeze=(), layer_decay=1.0, ema_decay=0.0,
      loss_scale="none", loss_scale_init=2.0 ** 15, loss_scale_period=2000))
  c.schedule = ml_collections.ConfigDict(dict(
      name=schedule, warmup_steps=0, decay_steps=1000, decay_rate=config_dict.placeholder(float),
      staircase=False, alpha=0.0, base_lr=config_dict.placeholder(float), step_size=2000))
  for key, value in overrides.items():
    if key not in c:
      raise KeyError(f"optimizer_config: unknown key {key!r}")
    c[key] = value
  return c
