"""Warm start: initialise parameters from another run's checkpoint (fine-tuning, a teacher).

``config.init_from``: ``workdir`` (the other run; '' = off), ``part`` (its part to read, default
'model'), ``subtree`` ('' = all of the part's parameters, or a '/'-separated path inside them,
e.g. 'encoder'), ``which`` ('latest' or 'best' checkpoint) and ``into`` (the part of this run
that receives them, default the same name). Shapes must match exactly: a mismatch is one
ConfigError naming the differing arrays. The run assets must match too: a vocabulary of this
run that differs from the one in the other workdir (token ids index the embedding rows) is one
DataError naming both sizes. The optimizer state starts afresh.
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
import numpy as np

from dlcore.config import cfg_get
from dlcore.errors import ConfigError
from dlcore.train.assets import check_assets
from dlcore.train.checkpoint import Checkpointer, shape_differences, tree_shapes

WHICH = {"latest": "checkpoints", "best": "best_checkpoint"}


def read_checkpoint(workdir: str | pathlib.Path, which: str = "latest") -> tuple[int, Any]:
  """(step, saved state as nested dicts of host arrays) of another run, without knowing its
  config. ConfigError when the run has no readable checkpoint."""
  if which not in WHICH:
    raise ConfigError(f"init_from.which={which!r}; use 'latest' or 'best'.")
  directory = pathlib.Path(workdir) / WHICH[which]
  if not directory.is_dir():
    raise ConfigError(f"{directory} does not exist: is {workdir} the --workdir of a trained "
                      f"dlcore run?")
  ckpt = Checkpointer(directory, async_save=False)
  try:
    for step in reversed(ckpt.steps()):
      try:
        return step, ckpt.restore_raw(step)
      except Exception:  # noqa: BLE001  (damaged: try the previous one)
        continue
  finally:
    ckpt.close()
  raise ConfigError(f"No readable checkpoint in {directory}; train that run first.")


def _subtree(tree: Any, path: str, where: str) -> Any:
  for key in [k for k in path.split("/") if k]:
    if not isinstance(tree, dict) or key not in tree:
      keys = ", ".join(map(str, tree)) if isinstance(tree, dict) else "none"
      raise ConfigError(f"{where} has no '{key}' (of subtree '{path}'); its keys: {keys}.")
    tree = tree[key]
  return tree


def saved_part(saved: Any, part: str, workdir: Any) -> dict:
  parts = saved.get("parts", {}) if isinstance(saved, dict) else {}
  if part not in parts:
    raise ConfigError(f"the run in {workdir} has no part {part!r}; its parts: "
                      f"{', '.join(parts) or 'none'}.")
  return parts[part]


def graft(target: Any, source: Any, what: str) -> Any:
  """`source` (host arrays, nested dicts) cast into the structure and dtypes of `target`;
  ConfigError naming the differences when shapes or keys differ."""
  diff = shape_differences(tree_shapes(source), tree_shapes(target))
  if diff:
    raise ConfigError(f"cannot warm-start {what}: {'; '.join(diff)}.")
  flat = dict(zip(tree_shapes(source), jax.tree.leaves(source)))
  leaves = [np.asarray(flat[path]).astype(leaf.dtype)
            for path, leaf in zip(tree_shapes(target), jax.tree.leaves(target))]
  return jax.tree.unflatten(jax.tree.structure(target), leaves)


def warm_start(state: Any, init_from: Any, console=None, assets: dict | None = None) -> Any:
  """`state` with the parameters named by `init_from` taken from another run (see module doc)."""
  workdir = str(cfg_get(init_from, "workdir", "") or "")
  if not workdir:
    return state
  check_assets(assets or {}, workdir)
  part = str(cfg_get(init_from, "part", "model"))
  into = str(cfg_get(init_from, "into", "") or part)
  subtree = str(cfg_get(init_from, "subtree", "") or "")
  step, saved = read_checkpoint(workdir, str(cfg_get(init_from, "which", "latest")))
  source = _subtree(saved_part(saved, part, workdir)["params"], subtree,
                    f"the params of part {part!r} in {workdir}")
  params = state.part(into).params
  target = _subtree(params, subtree, f"the params of part {into!r}")
  where = f"part {into!r}" + (f" subtree '{subtree}'" if subtree else "")
  new = graft(target, source, f"{where} from {workdir} (step {step})")
  sharding = jax.tree.map(lambda x: x.sharding, target)
  new = jax.tree.map(lambda x, s: jax.device_put(x, s), new, sharding)
  if subtree:
    new = _replace(params, [k for k in subtree.split("/") if k], new)
  if console is not None:
    console.print(f"warm start: {where} from step {step} of {workdir}")
  return state.replace_part(into, params=new)


def _replace(tree: dict, keys: list[str], value: Any) -> dict:
  if not keys:
    return value
  return {**tree, keys[0]: _replace(tree[keys[0]], keys[1:], value)}
