"""The device mesh: one `data` axis; batches sharded over it, parameters replicated.

The same code runs on 1 CPU, N fake CPU devices
(XLA_FLAGS=--xla_force_host_platform_device_count=N),
one GPU, or many accelerators. Axes are Auto (GSPMD) so `with_sharding_constraint` works.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from dlcore.errors import ConfigError

DATA_AXIS = "data"


def make_mesh(num_devices: int = 0) -> Mesh:
  """A 1-D mesh over the first `num_devices` devices (0 = all)."""
  devices = jax.devices()
  if num_devices < 0 or num_devices > len(devices):
    raise ConfigError(f"config.mesh.num_devices={num_devices} but {len(devices)} device(s) are "
                      f"visible; use 0 (all) or a number up to {len(devices)}.")
  chosen = devices[:num_devices] if num_devices else devices
  return Mesh(np.asarray(chosen), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_size(batch_size: int, mesh: Mesh, what: str = "batch_size") -> None:
  n = mesh.size
  if batch_size % n:
    raise ConfigError(f"{what}={batch_size} is not divisible by the {n} devices of the mesh; "
                      f"use a multiple of {n}.")


def put_batch(batch: dict, mesh: Mesh) -> dict:
  """Host batch (numpy, the same global batch on every host) -> device arrays sharded along the
  batch axis. With several processes (multi-host TPU/GPU) each host contributes its contiguous
  slice of rows, which `make_array_from_process_local_data` places on its local devices."""
  sharding = batch_sharding(mesh)
  if jax.process_count() == 1:
    return jax.device_put(batch, sharding)
  n, i = jax.process_count(), jax.process_index()

  def local(x):
    rows = x.shape[0] // n
    return jax.make_array_from_process_local_data(sharding, x[i * rows:(i + 1) * rows],
                                                  x.shape)

  return jax.tree.map(local, batch)


def replicate(tree, mesh: Mesh):
  return jax.device_put(tree, replicated(mesh))


def describe(mesh: Mesh) -> str:
  d = mesh.devices.flat[0]
  return (f"{mesh.size} x {d.platform.upper()} ({d.device_kind}) in mesh "
          f"{dict(mesh.shape)}, {jax.process_count()} process(es)")
