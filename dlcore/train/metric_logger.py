"""Where metrics go: `metrics.jsonl` (one JSON object per event), TensorBoard, the console.

Every event has `step`, `split` ('train' | 'eval' | 'test' | ...), each metric by name,
`time` (unix seconds) and `elapsed` (seconds since this process started logging).
"""

from __future__ import annotations

import json
import math
import pathlib
import time
from typing import Any, Mapping

from rich.console import Console


def _jsonable(v: Any) -> Any:
  if isinstance(v, float) and not math.isfinite(v):
    return str(v)  # 'nan' / 'inf': strict JSON readers accept it
  return v


def read_metrics(path: str | pathlib.Path) -> list[dict]:
  """All events of a metrics.jsonl file (missing file -> [])."""
  path = pathlib.Path(path)
  if not path.exists():
    return []
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class MetricLogger:
  """Writes each event to metrics.jsonl and TensorBoard; prints a one-line summary."""

  def __init__(self, workdir: str | pathlib.Path, console: Console | None = None,
               tensorboard: bool = True, active: bool = True):
    self.workdir = pathlib.Path(workdir)
    self.path = self.workdir / "metrics.jsonl"
    self.console = console or Console(highlight=False)
    self.active = active  # False on processes other than 0: print only, write nothing
    self._start = time.time()
    self._tb = None
    if tensorboard and active:
      from tensorboardX import SummaryWriter  # TensorFlow-free event files
      self._tb = SummaryWriter(logdir=str(self.workdir / "tensorboard"))

  def truncate_after(self, step: int) -> None:
    """On resume: drop events the interrupted run logged after the restored step (and a final
    test event at that step, which the resumed run writes again)."""
    if not self.active:
      return
    kept = [e for e in read_metrics(self.path)
            if e.get("step", 0) < step or (e.get("step") == step and e.get("split") != "test")]
    self.path.write_text("".join(json.dumps(e) + "\n" for e in kept))

  def write(self, step: int, split: str, metrics: Mapping[str, Any], echo: bool = True) -> dict:
    """One event of the numeric values of `metrics` (others, such as picture paths, are not
    logged); nothing when there is none."""
    metrics = {k: v for k, v in metrics.items() if _is_number(v)}
    event = {"step": int(step), "split": split,
             **{k: _jsonable(float(v)) if not isinstance(v, int) else v
                for k, v in metrics.items()},
             "time": round(time.time(), 3), "elapsed": round(time.time() - self._start, 3)}
    if not metrics:
      return event
    if self.active:
      with self.path.open("a") as f:
        f.write(json.dumps(event) + "\n")
    if self._tb is not None:
      for k, v in metrics.items():
        if isinstance(v, (int, float)) and math.isfinite(float(v)):
          self._tb.add_scalar(f"{split}/{k}", float(v), int(step))
    if echo:
      shown = "  ".join(f"{k}={_fmt(v)}" for k, v in metrics.items())
      self.console.print(f"[bold]{split:>5}[/bold] step {step:>7}  {shown}")
    return event

  def flush(self) -> None:
    if self._tb is not None:
      self._tb.flush()

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()
      self._tb = None


def _is_number(v: Any) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool) or (
      hasattr(v, "shape") and getattr(v, "shape", None) == () and hasattr(v, "dtype"))


def _fmt(v: Any) -> str:
  if isinstance(v, int):
    return str(v)
  v = float(v)
  return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.3e}"
