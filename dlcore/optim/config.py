"""Reading `config.optimizer` keys: every key is optional and read with `.get` and a default."""

from __future__ import annotations

from typing import Any


def cfg_get(cfg, key: str, default: Any) -> Any:
  """`cfg.get(key, default)`, or `default` when `cfg` is None (a missing sub-config)."""
  if cfg is None:
    return default
  value = cfg.get(key, default)
  return default if value is None else value
