"""Name -> object registries so configs can name models, datasets, losses, ... by string."""

from __future__ import annotations

import difflib
from typing import Any, Callable, Generic, Iterator, TypeVar

from dlcore.errors import ConfigError

T = TypeVar("T")


def closest(name: str, candidates, n: int = 3) -> list[str]:
  """The candidates closest to `name` (for 'did you mean' hints)."""
  return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)


class Registry(Generic[T]):
  """A named collection of factories; unknown names raise a `ConfigError` listing valid ones.

  >>> MODELS = Registry("model")
  >>> @MODELS.register("mlp")
  ... def make_mlp(**kw): ...
  """

  def __init__(self, kind: str, plural: str | None = None):
    self.kind = kind
    # 'loss' -> 'losses', 'model' -> 'models' (for "Valid losses: ..." in errors).
    self.plural = plural or (kind + "es" if kind.endswith(("s", "x", "sh", "ch")) else kind + "s")
    self._items: dict[str, T] = {}

  def register(self, name: str) -> Callable[[T], T]:
    def decorator(obj: T) -> T:
      if name in self._items:
        raise ValueError(f"{self.kind} {name!r} is registered twice")
      self._items[name] = obj
      return obj

    return decorator

  def add(self, name: str, obj: T) -> T:
    return self.register(name)(obj)

  def get(self, name: str) -> T:
    try:
      return self._items[name]
    except KeyError:
      hint = closest(name, self._items)
      did_you_mean = f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
      raise ConfigError(
          f"Unknown {self.kind} {name!r}.{did_you_mean} Valid {self.plural}: "
          f"{', '.join(sorted(self._items))}.") from None

  def __contains__(self, name: str) -> bool:
    return name in self._items

  def __iter__(self) -> Iterator[str]:
    return iter(sorted(self._items))

  def names(self) -> list[str]:
    return sorted(self._items)

  def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
    return self.get(name)(*args, **kwargs)
