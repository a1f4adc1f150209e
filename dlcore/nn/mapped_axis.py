"""The named device axis of a step compiled with `jax.pmap` (the pmap compatibility mode,
`config.mesh.mode='pmap'`).

Under `jit` over a mesh the arrays are global: XLA inserts the cross-device reductions, and a
layer needs no axis name. Under `pmap` each device sees its shard of the batch, so the layers and
the step must reduce across devices themselves. The compiled step traces its body inside
`mapped_axis('data')`; `BatchNorm` then averages its batch statistics over that axis and the
train step averages the gradients (`lax.pmean`) and sums the metrics (`lax.psum`). Outside it
(every jit-compiled program) `current_mapped_axis()` is None and nothing changes.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

_AXIS: contextvars.ContextVar[str | None] = contextvars.ContextVar("dlcore_mapped_axis",
                                                                   default=None)


@contextlib.contextmanager
def mapped_axis(name: str) -> Iterator[None]:
  """Trace the body with `name` as the mapped device axis."""
  token = _AXIS.set(name)
  try:
    yield
  finally:
    _AXIS.reset(token)


def current_mapped_axis() -> str | None:
  """The axis of the enclosing `mapped_axis(...)`, or None."""
  return _AXIS.get()
