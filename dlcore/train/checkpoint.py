"""Checkpoints with Orbax `CheckpointManager`: state + data position + config + loop metadata.

Layout: ``<workdir>/checkpoints/<step>/{state, data, meta}``. A latest checkpoint that cannot be
restored (partial or corrupt) is skipped with a warning and the previous one is used.
"""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import jax
import orbax.checkpoint as ocp

log = logging.getLogger("dlcore")


def abstract_like(tree: Any) -> Any:
  """ShapeDtypeStructs (with shardings) describing `tree`, the restore target."""
  return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)


class Checkpointer:
  """Save every `save_every` steps (and when forced), keep the last `max_to_keep`."""

  def __init__(self, directory: str | pathlib.Path, max_to_keep: int = 3, save_every: int = 0,
               async_save: bool = True):
    self.directory = pathlib.Path(directory).absolute()
    self.save_every = save_every
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                           enable_async_checkpointing=async_save)
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_names=("state", "data", "meta"))

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

  def restore(self, step: int, target: Any) -> tuple[Any, dict, dict]:
    args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract_like(target)),
                              data=ocp.args.JsonRestore(), meta=ocp.args.JsonRestore())
    out = self._manager.restore(step, args=args)
    return out["state"], dict(out["data"] or {}), dict(out["meta"] or {})

  def restore_latest(self, target: Any) -> tuple[int, Any, dict, dict] | None:
    """(step, state, data_state, meta) of the newest checkpoint that restores, or None."""
    self.wait()
    for step in reversed(self.steps()):
      try:
        state, data_state, meta = self.restore(step, target)
        return step, state, data_state, meta
      except Exception as e:  # pylint: disable=broad-except  (corrupt or partial checkpoint)
        log.warning("checkpoint at step %d in %s cannot be restored (%s: %s); falling back to "
                    "the previous one", step, self.directory, type(e).__name__,
                    str(e).splitlines()[0][:200] if str(e) else "")
    return None

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
