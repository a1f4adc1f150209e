"""A metric as (total, count): merging is addition, so an epoch's value equals the whole split's.

Inside a jitted step over a sharded batch the sums are global (XLA inserts the cross-device
reduction), so no explicit all-reduce is needed.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np


@flax.struct.dataclass
class Average:
  """Running weighted average: value = total / count."""
  total: jnp.ndarray
  count: jnp.ndarray

  @classmethod
  def from_values(cls, values: jnp.ndarray, mask: jnp.ndarray | None = None) -> "Average":
    values = jnp.asarray(values, jnp.float32)
    if mask is None:
      mask = jnp.ones(values.shape[:1], jnp.float32)
    mask = mask.astype(jnp.float32).reshape(mask.shape + (1,) * (values.ndim - mask.ndim))
    return cls(total=(values * mask).sum(), count=jnp.broadcast_to(mask, values.shape).sum())

  def merge(self, other: "Average") -> "Average":
    return Average(self.total + other.total, self.count + other.count)

  def compute(self) -> float:
    return float(np.asarray(self.total) / max(float(np.asarray(self.count)), 1e-12))


def merge(a: Mapping[str, Average] | None, b: Mapping[str, Average]) -> dict[str, Average]:
  """Merge two metric dicts (either may be on device); `a=None` starts a new accumulation."""
  if a is None:
    return dict(b)
  return {k: a[k].merge(b[k]) for k in b}


def merge_all(steps: Sequence[Mapping[str, Average]]) -> dict[str, Average]:
  """Merge the metrics of many steps on the host with one device->host transfer.

  (Merging with eager device ops each step costs a dispatch per metric per step.)
  """
  if not steps:
    return {}
  host = jax.device_get(list(steps))
  return {k: Average(total=np.sum([np.asarray(h[k].total, np.float64) for h in host]),
                     count=np.sum([np.asarray(h[k].count, np.float64) for h in host]))
          for k in host[0]}


def compute(metrics: Mapping[str, Average]) -> dict[str, float]:
  """Fetch to host and compute every metric's value; also reports the example count."""
  host = jax.device_get(dict(metrics))
  out = {k: v.compute() for k, v in host.items()}
  if host:
    out["num_examples"] = int(round(float(next(iter(host.values())).count)))
  return out
