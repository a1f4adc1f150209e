"""The device mesh: a `data` axis (batches sharded over it), optionally a `model` axis
(`config.mesh.model` > 1: a 2-D data x model mesh for tensor-parallel layers); the state is
replicated unless `dlcore.train.sharding` rules shard it.

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
MODEL_AXIS = "model"
MODES = ("jit", "pmap")


def mesh_mode(mesh_config) -> str:
  """`config.mesh.mode`: 'jit' (the default: jit over the mesh) or 'pmap' (the compatibility
  mode, `dlcore.train.step.compile_pmap_train_step`)."""
  mode = str(mesh_config.get("mode", "jit")) if mesh_config is not None else "jit"
  if mode not in MODES:
    raise ConfigError(f"config.mesh.mode={mode!r} is unknown; valid: {', '.join(MODES)}.")
  if mode == "pmap" and int(mesh_config.get("model", 1)) > 1:
    raise ConfigError("config.mesh.mode='pmap' maps one data axis; a model axis "
                      "(config.mesh.model > 1) needs config.mesh.mode='jit'.")
  if mode == "pmap" and jax.process_count() > 1:
    raise ConfigError("config.mesh.mode='pmap' runs in one process; multi-process runs use "
                      "config.mesh.mode='jit'.")
  return mode


def make_mesh(num_devices: int = 0, model: int = 1) -> Mesh:
  """A mesh over the first `num_devices` devices (0 = all): 1-D (`data`) when `model` is 1,
  else 2-D (`data` x `model`, `model` devices along the model axis)."""
  devices = jax.devices()
  if num_devices < 0 or num_devices > len(devices):
    raise ConfigError(f"config.mesh.num_devices={num_devices} but {len(devices)} device(s) are "
                      f"visible; use 0 (all) or a number up to {len(devices)}.")
  chosen = devices[:num_devices] if num_devices else devices
  if model < 1 or len(chosen) % model:
    raise ConfigError(f"config.mesh.model={model} must be >= 1 and divide the {len(chosen)} "
                      f"devices of the mesh.")
  if model == 1:
    return Mesh(np.asarray(chosen), (DATA_AXIS,))
  return Mesh(np.asarray(chosen).reshape(len(chosen) // model, model), (DATA_AXIS, MODEL_AXIS))


def mesh_from_config(mesh_config, default_devices: int = 0) -> Mesh:
  """`make_mesh` of `config.mesh` (num_devices, model)."""
  get = (lambda k, d: mesh_config.get(k, d)) if mesh_config is not None else (lambda k, d: d)
  return make_mesh(int(get("num_devices", default_devices)), int(get("model", 1)))


def data_size(mesh: Mesh) -> int:
  """The number of batch shards: the size of the `data` axis."""
  return int(mesh.shape[DATA_AXIS])


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_size(batch_size: int, mesh: Mesh, what: str = "batch_size") -> None:
  n = data_size(mesh)
  if batch_size % n:
    where = "devices of the mesh" if n == mesh.size else "data-axis shards of the mesh"
    raise ConfigError(f"{what}={batch_size} is not divisible by the {n} {where}; "
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


def put_batch_pmap(batch: dict, mesh: Mesh) -> dict:
  """Host batch [B, ...] -> [devices, B / devices, ...] with row block i on device i: the input
  of a pmap-compiled step (the same rows per device as `put_batch`)."""
  n = data_size(mesh)
  return jax.device_put(jax.tree.map(lambda x: x.reshape(n, x.shape[0] // n, *x.shape[1:]),
                                     batch), batch_sharding(mesh))


def to_host(x) -> np.ndarray:
  """A device array as one host array on every process: gathered across processes when its
  shards live on other hosts' devices (a batch-sharded output of a multi-process run)."""
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    from jax.experimental import multihost_utils
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
  return np.asarray(x)


def replicate(tree, mesh: Mesh):
  return jax.device_put(tree, replicated(mesh))


def describe(mesh: Mesh) -> str:
  d = mesh.devices.flat[0]
  return (f"{mesh.size} x {d.platform.upper()} ({d.device_kind}) in mesh "
          f"{dict(mesh.shape)}, {jax.process_count()} process(es)")
