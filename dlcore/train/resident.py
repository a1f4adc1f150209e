"""Device-resident training data: a small in-memory training split (MNIST-size) is put on the
devices once, and every step gathers its batch by index on the device, so no batch crosses from
the host. Only the batch's row indices (B int32) are sent per step; the loader's order and its
exact resume position are unchanged (`dlcore.data.loader.IndexBatches`).

`config.data.device_resident`: 'auto' (the default: on when the task's batches come from a
`TrainLoader` over in-memory arrays of at most `MAX_AUTO_BYTES` in one process), True (on, or
a ConfigError saying why it cannot be), False (host batches through the prefetcher, the path
for large or streamed data).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from dlcore.data.lazy import is_lazy
from dlcore.data.loader import TrainLoader
from dlcore.errors import ConfigError
from dlcore.train import mesh as mesh_lib

MAX_AUTO_BYTES = 1 << 30


def _setting(config) -> Any:
  data = config.get("data", None) if config is not None else None
  value = data.get("device_resident", "auto") if data is not None else "auto"
  setting = {"auto": "auto", "true": True, "false": False}.get(str(value).lower())
  if setting is None:
    raise ConfigError(f"config.data.device_resident={value!r} must be 'auto', True or False.")
  return setting


def train_arrays(config, batches: Any) -> dict[str, np.ndarray] | None:
  """The host arrays to keep on the device, or None for host batches (module docstring)."""
  setting = _setting(config)
  if setting is False or batches is None:
    return None
  why = None
  if not isinstance(batches, TrainLoader):
    why = "its batches do not come from a TrainLoader over arrays"
  elif is_lazy(batches.arrays):
    why = "its training split is read lazily from disk"
  elif jax.process_count() > 1:
    why = "it runs in several processes"
  elif setting == "auto" and sum(np.asarray(v).nbytes for v in batches.arrays.values()
                                 ) > MAX_AUTO_BYTES:
    why = f"its training arrays exceed {MAX_AUTO_BYTES >> 20} MiB"
  if why is None:
    return dict(batches.arrays)
  if setting is True:
    raise ConfigError(f"config.data.device_resident=True, but this task's data cannot live on "
                      f"the device: {why}. Use 'auto' or False.")
  return None


def put_arrays(arrays: dict[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
  """The arrays replicated on every device of `mesh` (each step gathers from its copy)."""
  return mesh_lib.replicate({k: np.asarray(v) for k, v in arrays.items()}, mesh)


def gather_step(train_step: Callable) -> Callable:
  """`step(state, {'index': rows}, arrays, *args)`: `train_step` on the rows of the
  device-resident `arrays` (with a 'mask' of ones unless the arrays have one)."""

  def step(state, batch, arrays, *args):
    index = batch["index"]
    rows = {k: jnp.take(v, index, axis=0) for k, v in arrays.items()}
    if "mask" not in rows:
      rows["mask"] = jnp.ones(index.shape, jnp.float32)
    return train_step(state, rows, *args)

  step.collects = getattr(train_step, "collects", False)
  return step


def describe(arrays: dict[str, np.ndarray]) -> str:
  size = sum(np.asarray(v).nbytes for v in arrays.values())
  return f"training data on the device ({size / 2**20:.1f} MiB), batches gathered by index"
