"""Per-array sharding of the train state from `config.mesh`: FSDP over the `data` axis and
tensor-parallel rules over the `model` axis. The loop places the state with these shardings
(`loop.initial_state`) and jit keeps them through every step; checkpoints restore into them,
so a run saved under one mesh continues under another.

Keys of `config.mesh` (all optional):

  rules:         ((regex, spec), ...): the first regex found (`re.search`) in an array's path
                 ('parts/model/params/decoder/layer_0/self_attention/query/kernel', the same
                 suffix for the optimizer's moments 'parts/model/opt_state/0/mu/...') whose spec
                 has the array's rank gives its PartitionSpec: a mesh axis name or None per
                 dimension. `rules='tensor_parallel'` takes `TENSOR_PARALLEL_RULES` (from the
                 command line: --config.mesh.rules=tensor_parallel). The default section holds
                 a string, so a config file sets its own rules with
                 `del c.mesh['rules']; c.mesh.rules = ((regex, spec), ...)`.
  fsdp:          True shards every array of at least `fsdp_min_size` elements along its
                 largest dimension that the `data` axis divides and no rule has taken
                 (ZeRO-3 / FSDP: each device holds 1/n of the parameters and optimizer state;
                 XLA gathers a layer's weights where it is used).
  fsdp_min_size: smaller arrays stay replicated (default 1024 elements).
  logical_rules: ((logical name, mesh axis or None), ...) over the logical axis names of the
                 layers (`dlcore.nn.logical_axes`: 'embed', 'heads', 'mlp', 'vocab', ...),
                 turned into path rules that come after `rules`; 'tensor_parallel' is
                 `TENSOR_PARALLEL` = (('heads', 'model'), ('mlp', 'model')).

`rules='tensor_parallel'` (`TENSOR_PARALLEL_RULES`) is the same as
`logical_rules='tensor_parallel'`: a Transformer block split Megatron-style over `model`, the
heads of the query/key/value projections ([d_model, heads, d_k]) and of the output projection
([heads, d_k, d_model]), the hidden units of the FFN (dense_1 [d_model, d_ff], dense_2 [d_ff,
d_model]).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from dlcore.errors import ConfigError
from dlcore.nn.logical_axes import LOGICAL_AXES, NAMES, TENSOR_PARALLEL
from dlcore.optim.freeze import param_path
from dlcore.train.mesh import DATA_AXIS

PRESETS = ("tensor_parallel", "tp")


def logical_to_path_rules(mapping: dict[str, str | None]) -> tuple:
  """((regex, spec), ...) of every entry of `LOGICAL_AXES`, each logical name replaced by its
  mesh axis in `mapping` (None where it has none)."""
  return tuple((re.compile(pattern), tuple(mapping.get(n) for n in names))
               for pattern, names in LOGICAL_AXES)


TENSOR_PARALLEL_RULES = logical_to_path_rules(dict(TENSOR_PARALLEL))


def _logical_mapping(mesh_config) -> dict[str, str | None]:
  """{logical name: mesh axis} from `mesh.logical_rules` (and `rules='tensor_parallel'`)."""
  given = mesh_config.get("logical_rules", ()) if mesh_config is not None else ()
  rules = mesh_config.get("rules", ()) if mesh_config is not None else ()
  mapping = dict(TENSOR_PARALLEL) if rules in PRESETS else {}
  if given in PRESETS:
    return {**mapping, **dict(TENSOR_PARALLEL)}
  if isinstance(given, str) and given:
    raise ConfigError(f"config.mesh.logical_rules={given!r} is unknown; give ((logical name, "
                      f"mesh axis), ...) or 'tensor_parallel'.")
  for rule in given or ():
    if len(rule) != 2 or rule[0] not in NAMES:
      raise ConfigError(f"config.mesh.logical_rules entry {tuple(rule)!r} must be (logical "
                        f"name, mesh axis or None); logical names: {', '.join(NAMES)}.")
    mapping[rule[0]] = None if rule[1] in (None, "", "None") else str(rule[1])
  return mapping


def _rules(mesh_config) -> tuple:
  rules = mesh_config.get("rules", ()) if mesh_config is not None else ()
  mapping = _logical_mapping(mesh_config)
  logical = logical_to_path_rules(mapping) if any(mapping.values()) else ()
  if rules in PRESETS:
    return logical
  if isinstance(rules, str) and rules:
    raise ConfigError(f"config.mesh.rules={rules!r} is unknown; give ((regex, spec), ...) or "
                      f"'tensor_parallel'.")
  out = []
  for rule in rules or ():
    if len(rule) != 2:
      raise ConfigError(f"config.mesh.rules entry {rule!r} must be (regex, spec).")
    pattern, spec = rule
    try:
      out.append((re.compile(pattern), tuple(None if a in (None, "", "None") else str(a)
                                                for a in spec)))
    except re.error as e:
      raise ConfigError(f"config.mesh.rules regex {pattern!r} does not compile: {e}.") from None
  return tuple(out) + logical


def wants_sharding(mesh_config) -> bool:
  """Whether `config.mesh` asks for anything but a replicated state."""
  return mesh_config is not None and bool(mesh_config.get("fsdp", False) or
                                          mesh_config.get("rules", ()) or
                                          mesh_config.get("logical_rules", ()))


def spec_for(path: str, shape: Sequence[int], mesh: Mesh, rules: Sequence, fsdp: bool,
             min_size: int) -> P:
  """The PartitionSpec of one array (module docstring)."""
  spec: list = [None] * len(shape)
  for pattern, rule in rules:
    pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
    if len(rule) == len(shape) and pattern.search(path):
      for dim, axis in enumerate(rule):
        if axis is None:
          continue
        if axis not in mesh.shape:
          raise ConfigError(f"config.mesh.rules shards {path} over axis {axis!r}, which the "
                            f"mesh {dict(mesh.shape)} does not have.")
        if shape[dim] % mesh.shape[axis]:
          raise ConfigError(f"config.mesh.rules shards dimension {dim} of {path} (size "
                            f"{shape[dim]}) over the {mesh.shape[axis]} devices of axis "
                            f"{axis!r}, which do not divide it.")
        spec[dim] = axis
      break
  n = mesh.shape[DATA_AXIS]
  if fsdp and n > 1 and DATA_AXIS not in spec and int(np.prod(shape, dtype=np.int64)) >= min_size:
    free = [d for d in range(len(shape)) if spec[d] is None and shape[d] % n == 0]
    if free:
      spec[max(free, key=lambda d: (shape[d], -d))] = DATA_AXIS
  return P(*spec)


def state_shardings(mesh: Mesh, abstract_state: Any, mesh_config) -> Any:
  """NamedShardings of every array of `abstract_state` under the rules of `mesh_config`."""
  rules = _rules(mesh_config)
  fsdp = bool(mesh_config.get("fsdp", False))
  min_size = int(mesh_config.get("fsdp_min_size", 1024))

  def one(keys, leaf):
    shape = tuple(getattr(leaf, "shape", ()))
    return NamedSharding(mesh, spec_for(param_path(keys), shape, mesh, rules, fsdp, min_size))

  return jax.tree_util.tree_map_with_path(one, abstract_state)


def bytes_per_device(tree: Any) -> tuple[int, int]:
  """(bytes one device holds, bytes of the whole tree) of the arrays in `tree`, from their
  shardings (the shard on each array's first addressable device)."""
  held = total = 0
  for x in jax.tree.leaves(tree):
    if not hasattr(x, "sharding"):
      continue
    total += x.size * x.dtype.itemsize
    held += x.addressable_shards[0].data.size * x.dtype.itemsize
  return held, total
