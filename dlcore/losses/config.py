"""Build a per-example loss from a config (curriculum §4; LOSS-30's choices are config names)."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from dlcore.errors import ConfigError
from dlcore.losses.base import LOSSES
from dlcore.registry import closest

# Keys read by the trainer, not by the loss function ('components' belongs to
# name='weighted_sum'; other losses leave it unused so one config can switch between them).
TRAINER_KEYS = ("name", "reduction", "components", "l1_penalty", "l2_penalty", "aux_weight")
# Per-call arguments, never hyperparameters.
CALL_ARGS = ("weights", "mask", "reduction")


def hyperparameters(fn: Callable) -> list[str]:
  """The keyword-only hyperparameters of a registered loss (e.g. 'delta', 'label_smoothing')."""
  return [p.name for p in inspect.signature(fn).parameters.values()
          if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in CALL_ARGS]


def _items(loss_config) -> dict[str, Any]:
  if hasattr(loss_config, "to_dict"):
    return dict(loss_config.to_dict())
  return dict(loss_config)


def build_loss(loss_config) -> Callable:
  """fn(outputs, targets) -> per-example values for `loss_config.name` and its hyperparameters.

  `loss_config` is a ConfigDict or mapping: {'name': ..., 'reduction': ..., **hyperparameters}.
  'reduction' is left to the caller (`reduce_loss`). An unknown name or hyperparameter key
  raises `ConfigError` naming it and the valid choices.
  """
  items = _items(loss_config)
  if items.get("name") == "weighted_sum":
    return _weighted_sum_loss(items)
  if "name" not in items:
    raise ConfigError("The loss config needs a 'name' (one of: " + ", ".join(LOSSES.names()) + ").")
  name = items["name"]
  fn = LOSSES.get(name)
  allowed = hyperparameters(fn)
  kwargs = {k: v for k, v in items.items() if k not in TRAINER_KEYS}
  for key in kwargs:
    if key not in allowed:
      hint = closest(key, allowed)
      did_you_mean = f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
      valid = ", ".join(allowed) if allowed else "none"
      raise ConfigError(f"Unknown hyperparameter loss.{key} for loss {name!r}.{did_you_mean} "
                        f"Valid: {valid}.")
  missing = [p.name for p in inspect.signature(fn).parameters.values()
             if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
             and p.name not in kwargs]
  if missing:
    raise ConfigError(f"Loss {name!r} needs loss.{missing[0]} in the config.")
  return functools.partial(fn, **kwargs) if kwargs else fn


def _weighted_sum_loss(items: dict[str, Any]) -> Callable:
  """LOSS-12 as a config: {'name': 'weighted_sum', 'components': {loss_name: {'weight': w,
  **hyperparameters}}} -> fn(outputs, targets) = sum_k w_k * loss_k(outputs, targets)."""
  components = items.get("components") or {}
  if not components:
    raise ConfigError("loss.name='weighted_sum' needs loss.components, e.g. "
                      "{'cross_entropy': {'weight': 1.0}, 'focal': {'weight': 0.5}}.")
  terms = []
  for name, spec in components.items():
    spec = dict(spec)
    weight = float(spec.pop("weight", 1.0))
    terms.append((weight, build_loss({"name": spec.pop("name", name), **spec})))

  def weighted(outputs, targets):
    return sum(w * fn(outputs, targets) for w, fn in terms)

  return weighted
