"""Checkpoints with Orbax `CheckpointManager`: state + data position + loop metadata.

Layout: ``<workdir>/checkpoints/<step>/{state, data, meta}``.

Restoring tells two failures apart:
- a checkpoint whose arrays do not fit the state of the current config (another model was
  trained in this workdir) is a `CheckpointMismatch`, naming the differing arrays. Nothing is
  changed on disk;
- a checkpoint that cannot be read (partial, truncated, garbage) is *damaged*: `restore_latest`
  moves it to ``<workdir>/damaged_checkpoints/`` (so a later save can write that step again and
  `launch.eval` never sees it) and tries the previous one. The caller reports what was skipped.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import time
from typing import Any

import jax
import orbax.checkpoint as ocp

from dlcore.errors import ConfigError, first_line

class CheckpointMismatch(ConfigError):
  """The checkpoint's arrays do not have the shapes of the state the config builds."""


def abstract_like(tree: Any) -> Any:
  """ShapeDtypeStructs (with shardings) describing `tree`, the restore target."""
  return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)


def _key_name(k: Any) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(k, attr):
      return str(getattr(k, attr))
  return str(k)


def tree_shapes(tree: Any) -> dict[str, tuple]:
  """{'parts/model/params/dense/kernel': shape} of every array leaf (paths as '/'-joined keys)."""
  flat = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {"/".join(_key_name(k) for k in path): tuple(getattr(leaf, "shape", ()))
          for path, leaf in flat}


def shape_differences(saved: dict[str, tuple], expected: dict[str, tuple], limit: int = 3
                      ) -> list[str]:
  """Human-readable differences between two `tree_shapes` maps (at most `limit`)."""
  out = []
  for path in sorted(set(saved) | set(expected)):
    if path not in expected:
      out.append(f"{path} {saved[path]} is in the checkpoint only")
    elif path not in saved:
      out.append(f"{path} {expected[path]} is missing from the checkpoint")
    elif saved[path] != expected[path]:
      out.append(f"{path} is {saved[path]} in the checkpoint but {expected[path]} now")
  more = f" (and {len(out) - limit} more)" if len(out) > limit else ""
  return out[:limit] + ([more.strip()] if more else [])


@dataclasses.dataclass
class Restored:
  step: int
  state: Any
  data_state: dict
  meta: dict
  skipped: list[tuple[int, str]]  # damaged checkpoints passed over: (step, reason)


def _reason(e: BaseException) -> str:
  text = first_line(e)
  return f"{type(e).__name__}: {text}" if text else type(e).__name__


class Checkpointer:
  """Save every `save_every` steps (and when forced), keep the last `max_to_keep`."""

  def __init__(self, directory: str | pathlib.Path, max_to_keep: int = 3, save_every: int = 0,
               async_save: bool = True):
    self.directory = pathlib.Path(directory).absolute()
    self.save_every = save_every
    self._options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                                 enable_async_checkpointing=async_save)
    self._manager = self._open()

  def _open(self) -> ocp.CheckpointManager:
    handlers = {"state": ocp.StandardCheckpointHandler(), "data": ocp.JsonCheckpointHandler(),
                "meta": ocp.JsonCheckpointHandler()}
    return ocp.CheckpointManager(self.directory, options=self._options, item_handlers=handlers)

  def steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def should_save(self, step: int) -> bool:
    return self.save_every > 0 and step % self.save_every == 0

  def save(self, step: int, state: Any, data_state: dict | None = None,
           meta: dict | None = None) -> bool:
    """Save unless `step` is already saved. Returns whether a save was started."""
    if step in self._manager.all_steps():
      return False
    args = ocp.args.Composite(state=ocp.args.StandardSave(state),
                              data=ocp.args.JsonSave(data_state or {}),
                              meta=ocp.args.JsonSave(meta or {}))
    return self._manager.save(step, args=args, force=True)

  def delete(self, steps) -> None:
    for step in steps:
      self._manager.delete(step)

  def saved_shapes(self, step: int) -> dict[str, tuple] | None:
    """The array shapes recorded in checkpoint `step`, or None when its metadata is unreadable."""
    try:
      tree = self._manager.item_metadata(step)["state"]
      tree = getattr(tree, "tree", tree)
      return tree_shapes(tree) if tree else None
    except Exception:  # noqa: BLE001  (damaged metadata: the restore decides)
      return None

  def check_fits(self, step: int, target: Any) -> None:
    """CheckpointMismatch when checkpoint `step` holds arrays of other shapes than `target`."""
    saved = self.saved_shapes(step)
    if saved is None:
      return
    diff = shape_differences(saved, tree_shapes(target))
    if diff:
      raise CheckpointMismatch(
          f"the checkpoint at step {step} in {self.directory} was written by a different model "
          f"({'; '.join(diff)}); use a new --workdir, or start this one afresh with "
          f"--config.train.overwrite=True (deletes its checkpoints and logs), or warm-start "
          f"from it with --config.init_from.workdir.")

  def restore(self, step: int, target: Any) -> tuple[Any, dict, dict]:
    args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract_like(target)),
                              data=ocp.args.JsonRestore(), meta=ocp.args.JsonRestore())
    out = self._manager.restore(step, args=args)
    return out["state"], dict(out["data"] or {}), dict(out["meta"] or {})

  def restore_raw(self, step: int) -> Any:
    """The saved state of `step` as nested dicts of host arrays (no target needed)."""
    out = self._manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
    return out["state"]

  def restore_latest(self, target: Any, repair: bool = True) -> Restored | None:
    """The newest checkpoint that restores into `target`, or None when there is none.

    A checkpoint for another model raises `CheckpointMismatch`. A damaged one is passed over
    (and, with `repair`, moved to `damaged_checkpoints/` beside the checkpoint directory).
    """
    self.wait()
    skipped, found = [], None
    for step in reversed(self.steps()):
      self.check_fits(step, target)
      try:
        found = Restored(step, *self.restore(step, target), skipped)
        break
      except Exception as e:  # noqa: BLE001  (partial, truncated or garbage files)
        skipped.append((step, _reason(e)))
        if repair:
          self._move_aside(step)
    if skipped and repair:
      self._manager = self._open()  # forget the steps moved aside
    if found is None and skipped:
      return Restored(-1, None, {}, {}, skipped)
    return found

  def _move_aside(self, step: int) -> pathlib.Path:
    dest = self.directory.parent / "damaged_checkpoints" / f"{step}-{int(time.time())}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(self.directory / str(step)), str(dest))
    return dest

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
