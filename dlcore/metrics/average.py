"""A metric as (total, count): merging is addition, so an epoch's value equals the whole split's.

Inside a jitted step over a sharded batch the sums are global (XLA inserts the cross-device
reduction), so no explicit all-reduce is needed.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

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


@flax.struct.dataclass
class PackedAverages:
  """The metrics that leave a step: every named `Average` as one row of an (n, 2) array of
  [total, count], and any other additive statistic (sums and counts of any shape: `Confusion`,
  `Perplexity`, `RegressionStats`, ...) as it is, in `others`.

  A jitted step that returns this instead of a dict of Averages has one small output buffer
  instead of 2n, which matters when steps take a fraction of a millisecond (GPU/TPU).
  """
  values: jnp.ndarray
  names: tuple = flax.struct.field(pytree_node=False, default=())
  others: dict = flax.struct.field(default_factory=dict)

  @classmethod
  def pack(cls, metrics: Mapping[str, Any]) -> "PackedAverages":
    averages = {k: m for k, m in metrics.items() if isinstance(m, Average)}
    rows = [jnp.stack([jnp.asarray(m.total, jnp.float32), jnp.asarray(m.count, jnp.float32)])
            for m in averages.values()]
    values = jnp.stack(rows) if rows else jnp.zeros((0, 2), jnp.float32)
    return cls(values=values, names=tuple(averages),
               others={k: m for k, m in metrics.items() if k not in averages})

  def unpack(self) -> dict[str, Any]:
    out = {n: Average(total=self.values[i, 0], count=self.values[i, 1])
           for i, n in enumerate(self.names)}
    return {**out, **self.others}


def _unpacked(metrics):
  return metrics.unpack() if isinstance(metrics, PackedAverages) else metrics


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
  host = [_unpacked(h) for h in jax.device_get(list(steps))]
  out = {}
  for k, first in host[0].items():
    if isinstance(first, Average):
      out[k] = Average(total=np.sum([np.asarray(h[k].total, np.float64) for h in host]),
                       count=np.sum([np.asarray(h[k].count, np.float64) for h in host]))
    else:  # any other mergeable statistic (Confusion, RegressionStats, ScoreBuffer, ...)
      out[k] = functools.reduce(lambda a, b: a.merge(b), [h[k] for h in host])
  return out


def compute(metrics: Mapping[str, Average]) -> dict[str, float]:
  """Fetch to host and compute every metric's value; also reports the example count.

  A statistic whose compute() returns a dict (e.g. RegressionStats) gives keys 'name_sub'.
  """
  host = jax.device_get(dict(_unpacked(metrics)))
  out = {}
  for k, v in host.items():
    value = v.compute()
    if isinstance(value, dict):
      out.update({f"{k}_{s}": x for s, x in value.items()})
    else:
      out[k] = value
  averages = [v for v in host.values() if isinstance(v, Average)]
  if averages:
    out["num_examples"] = int(round(float(averages[0].count)))
  return out
