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
               tensorboard: bool = True):
    self.workdir = pathlib.Path(workdir)
    self.path = self.workdir / "metrics.jsonl"
    self.console = console or Console(highlight=False)
    self._start = time.time()
    self._tb = None
    if tensorboard:
      from tensorboardX import SummaryWriter  # TensorFlow-free event files
      self._tb = SummaryWriter(logdir=str(self.workdir / "tensorboard"))

  def truncate_after(self, step: int) -> None:
    """On resume: drop events the interrupted run logged after the restored step (and a final
    test event at that step, which the resumed run writes again)."""
    kept = [e for e in read_metrics(self.path)
            if e.get("step", 0) < step or (e.get("step") == step and e.get("split") != "test")]
    self.path.write_text("".join(json.dumps(e) + "\n" for e in kept))

  def write(self, step: int, split: str, metrics: Mapping[str, float], echo: bool = True) -> dict:
    event = {"step": int(step), "split": split,
             **{k: _jsonable(float(v)) if not isinstance(v, int) else v
                for k, v in metrics.items()},
             "time": round(time.time(), 3), "elapsed": round(time.time() - self._start, 3)}
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

  def update_last(self, split: str, metrics: Mapping[str, float], echo: bool = True) -> dict:
    """Add `metrics` to the last event of `split` (e.g. whole-split reports computed after the
    final test evaluation, so that the run keeps one final test event)."""
    events = read_metrics(self.path)
    last = max((i for i, e in enumerate(events) if e.get("split") == split), default=None)
    if last is None:
      return self.write(0, split, metrics, echo)
    events[last].update({k: _jsonable(float(v)) for k, v in metrics.items()})
    self.path.write_text("".join(json.dumps(e) + "\n" for e in events))
    if echo:
      shown = "  ".join(f"{k}={_fmt(v)}" for k, v in metrics.items())
      self.console.print(f"[bold]{split:>5}[/bold] step {events[last]['step']:>7}  {shown}")
    return events[last]

  def flush(self) -> None:
    if self._tb is not None:
      self._tb.flush()

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()
      self._tb = None


def _fmt(v: Any) -> str:
  if isinstance(v, int):
    return str(v)
  v = float(v)
  return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.3e}"
