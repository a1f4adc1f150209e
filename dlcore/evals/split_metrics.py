"""Metrics over every example of a split, and the predictions of a model on every example.

The last batch is zero-padded and masked (`dlcore.data.loader.eval_batches`), so a metric over
the split equals the metric computed on the whole split at once.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import numpy as np
from jax.sharding import Mesh

from dlcore.data.loader import eval_batches
from dlcore.metrics import compute, merge_all
from dlcore.train import mesh as mesh_lib


def max_inflight_steps(mesh: Mesh) -> int:
  """How many dispatched steps may run ahead of the host.

  Two on accelerators (enough to hide the host's work). One on a multi-device CPU mesh: there
  the 'devices' share a small thread pool, and the collectives of several in-flight steps can
  wait on each other until XLA aborts (observed with 8 fake devices on 2 cores).
  """
  if mesh.size > 1 and mesh.devices.flat[0].platform == "cpu":
    return 1
  return 2


def evaluate_split(eval_step: Callable, state: Any, arrays: Mapping[str, Any], batch_size: int,
                   mesh: Mesh, args: tuple = ()) -> dict[str, float]:
  """compute(Σ eval_step(state, batch, *args)) over every example of `arrays`."""
  pending, inflight = [], max_inflight_steps(mesh)
  for batch in eval_batches(arrays, batch_size):
    pending.append(eval_step(state, mesh_lib.put_batch(batch, mesh), *args))
    if len(pending) > inflight:
      jax.block_until_ready(pending[-inflight - 1])
  return compute(merge_all(pending))


def split_metrics(eval_step: Callable, arrays: Mapping[str, Any], batch_size: int,
                  mesh: Mesh) -> Callable:
  """An evaluator function: the metrics of `eval_step` over every example of `arrays`."""
  return lambda state, args, workdir=None: evaluate_split(eval_step, state, arrays, batch_size,
                                                          mesh, args)


def predict_split(predict: Callable, state: Any, arrays: Mapping[str, Any], batch_size: int,
                  mesh: Mesh, args: tuple = (), label_key: str = "label"
                  ) -> tuple[np.ndarray, np.ndarray]:
  """`predict(state, batch, *args)` outputs and the labels of every example (host arrays, in
  order, padding removed)."""
  outputs, labels = [], []
  for b in eval_batches(arrays, batch_size):
    keep = np.asarray(b["mask"]) > 0
    outputs.append(mesh_lib.to_host(predict(state, mesh_lib.put_batch(b, mesh), *args))[keep])
    labels.append(np.asarray(b[label_key])[keep])
  return np.concatenate(outputs), np.concatenate(labels)
