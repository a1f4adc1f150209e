"""Faults as a user meets them on the command line: damaged checkpoints, a workdir of another
model, a NaN/Inf step, best vs latest in `launch.eval`, SIGKILL in the middle of a save.

Every run is a short digits_mlp (60 steps on one CPU device); one finished run (`base`) is
copied into each test that starts from a finished workdir.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, run_cli

# 60 steps (3 epochs of 20), checkpoints at 20/40/60, validation every 10 steps. At this
# learning rate the validation loss is lowest at step 40, so best (restore_best=True in
# digits_mlp) and latest differ.
RUN = ["--config", "configs/digits_mlp.py", "--config.train.num_steps=60",
       "--config.train.checkpoint_every=20", "--config.train.log_every=20",
       "--config.train.eval_every=10", "--config.train.progress=False",
       "--config.optimizer.learning_rate=0.05", "--config.mesh.num_devices=1"]
ONE_DEVICE = {"XLA_FLAGS": ""}


def train(workdir: pathlib.Path, *extra: str) -> subprocess.CompletedProcess:
  return run_cli("launch.train", *RUN, "--workdir", str(workdir), *extra, env=ONE_DEVICE)


def evaluate(workdir: pathlib.Path, *extra: str) -> subprocess.CompletedProcess:
  return run_cli("launch.eval", "--workdir", str(workdir), *extra, env=ONE_DEVICE)


def final_json(stdout: str) -> dict:
  return json.loads(stdout.strip().splitlines()[-1])


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
  return proc


def one_error(proc: subprocess.CompletedProcess, code: int = 2) -> str:
  """The single `error:` line of a run that failed with exit `code`, without a traceback."""
  assert proc.returncode == code, proc.stdout[-2000:] + proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert len(errors) == 1, proc.stderr[-3000:]
  return errors[0]


def console(proc: subprocess.CompletedProcess) -> str:
  """stdout as one line per message (rich wraps long lines at 160 columns)."""
  return " ".join(proc.stdout.split())


def events(workdir: pathlib.Path) -> list[dict]:
  return [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]


def steps(workdir: pathlib.Path, sub: str = "checkpoints") -> list[int]:
  return sorted(int(p.name) for p in (workdir / sub).iterdir() if p.name.isdigit())


def tree_hash(path: pathlib.Path) -> dict[str, str]:
  """{relative path: sha256} of every file under `path` (or of `path` itself)."""
  files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
  return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
          for p in files}


def all_finite(values: dict) -> bool:
  return all(math.isfinite(v) for v in values.values() if isinstance(v, (int, float)))


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[pathlib.Path, dict]:
  """(workdir, final JSON) of one finished run of RUN."""
  workdir = tmp_path_factory.mktemp("base") / "run"
  result = final_json(ok(train(workdir)).stdout)
  assert result["status"] == "finished" and result["step"] == 60
  assert steps(workdir) == [20, 40, 60]
  return workdir, result


@pytest.fixture
def finished(base, tmp_path) -> pathlib.Path:
  """A copy of the finished base workdir to damage."""
  workdir = tmp_path / "run"
  shutil.copytree(base[0], workdir)
  return workdir


# ---------------------------------------------------------------------------------------------
# 1-2. Damaged checkpoints


def _garbage(state: pathlib.Path) -> None:
  for f in (p for p in state.rglob("*") if p.is_file()):
    f.write_bytes(b"\x00garbage\xff" * max(1, f.stat().st_size // 10))


def _truncate(state: pathlib.Path) -> None:
  largest = max((p for p in state.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
  with largest.open("r+b") as f:
    f.truncate(largest.stat().st_size // 2)


def _delete(state: pathlib.Path) -> None:
  shutil.rmtree(state)


DAMAGE = {"garbage": _garbage, "truncated": _truncate, "deleted": _delete}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_latest_checkpoint_falls_back_to_previous(finished, damage):
  """The latest checkpoint (60) is damaged; the rerun with more steps says so, moves it aside,
  resumes from 40 and finishes; `launch.eval --which latest` sees the new step; a further rerun
  of the finished run resumes at its end and trains nothing (checked once: after the repair
  every variant leaves the same workdir)."""
  workdir = finished
  DAMAGE[damage](workdir / "checkpoints" / "60" / "state")
  damaged_state = tree_hash(workdir / "checkpoints" / "60")

  rerun = ok(train(workdir, "--config.train.num_steps=80"))
  out = console(rerun)
  assert "checkpoint at step 60 cannot be read (" in out, out[-3000:]
  assert f"moved it to {workdir / 'damaged_checkpoints'}" in out
  assert "resumed from checkpoint at step 40 (fell back from damaged step 60)" in out
  assert final_json(rerun.stdout)["step"] == 80
  # The damaged step is under damaged_checkpoints/, unchanged; checkpoints/60 is a new save.
  moved = list((workdir / "damaged_checkpoints").iterdir())
  assert [p.name.split("-")[0] for p in moved] == ["60"]
  assert {k.replace(moved[0].name, "60", 1): v
          for k, v in tree_hash(moved[0]).items()} == damaged_state
  assert steps(workdir) == [40, 60, 80]
  assert tree_hash(workdir / "checkpoints" / "60") != damaged_state

  latest = final_json(ok(evaluate(workdir, "--which", "latest")).stdout)
  assert (latest["step"], latest["which"]) == (80, "latest")
  assert all_finite(latest)
  if damage != "garbage":  # the same workdir as after the other repairs: one variant suffices
    return

  before = [e for e in events(workdir) if e["split"] != "test"]
  again = ok(train(workdir, "--config.train.num_steps=80"))
  out = console(again)
  assert "resumed from checkpoint at step 80 (" in out, out[-3000:]
  assert "cannot be read" not in out
  assert final_json(again.stdout)["step"] == 80
  assert [e for e in events(workdir) if e["split"] != "test"] == before  # no training steps


def test_all_checkpoints_damaged_restarts_from_zero(finished, base):
  """Every checkpoint is garbage: the rerun says it starts from step 0, trains the whole run
  again (bitwise the same as the first time), saves checkpoints, and metrics.jsonl holds only
  the new run's events."""
  workdir = finished
  for step in (20, 40, 60):
    _garbage(workdir / "checkpoints" / str(step) / "state")
  rerun = ok(train(workdir))
  out = console(rerun)
  for step in (20, 40, 60):
    assert f"checkpoint at step {step} cannot be read (" in out, out[-3000:]
  assert f"no readable checkpoint left in {workdir / 'checkpoints'}: starting from step 0" in out
  assert "resumed from checkpoint" not in out
  assert steps(workdir) == [20, 40, 60]
  assert sorted(p.name.split("-")[0] for p in (workdir / "damaged_checkpoints").iterdir()) == \
      ["20", "40", "60"]
  result = final_json(rerun.stdout)
  assert result["step"] == 60 and result["test"] == base[1]["test"]
  by_split: dict[str, list[int]] = {}
  for e in events(workdir):
    by_split.setdefault(e["split"], []).append(e["step"])
  assert by_split["train"] == [20, 40, 60]
  assert by_split["eval"] == [10, 20, 30, 40, 50, 60]
  assert by_split["test"] == [60]


# ---------------------------------------------------------------------------------------------
# 3. A workdir of another model


def test_other_model_in_workdir_is_a_fast_error_then_overwrite(finished):
  workdir = finished
  snapshot = {**tree_hash(workdir / "config.json"), **tree_hash(workdir / "metrics.jsonl"),
              **tree_hash(workdir / "checkpoints"), **tree_hash(workdir / "best_checkpoint")}
  t0 = time.time()
  proc = train(workdir, "--config.model.features=(32,)")
  elapsed = time.time() - t0
  line = one_error(proc, 2)
  assert "was written by a different model" in line, line
  assert "hidden_0/kernel is (64, 256) in the checkpoint but (64, 32) now" in line, line
  assert "--config.train.overwrite=True" in line and "--workdir" in line
  assert elapsed < 30, f"the mismatch took {elapsed:.1f} s to report"
  assert {**tree_hash(workdir / "config.json"), **tree_hash(workdir / "metrics.jsonl"),
          **tree_hash(workdir / "checkpoints"),
          **tree_hash(workdir / "best_checkpoint")} == snapshot
  assert not (workdir / "damaged_checkpoints").exists()

  fresh = ok(train(workdir, "--config.model.features=(32,)", "--config.train.overwrite=True"))
  assert "train.overwrite=True: deleted" in console(fresh)
  assert "resumed from checkpoint" not in console(fresh)
  assert final_json(fresh.stdout)["step"] == 60
  assert json.loads((workdir / "config.json").read_text())["model"]["features"] == [32]
  assert [e["step"] for e in events(workdir) if e["split"] == "train"] == [20, 40, 60]
  restored = final_json(ok(evaluate(workdir, "--which", "latest")).stdout)
  assert restored["step"] == 60 and all_finite(restored)


# ---------------------------------------------------------------------------------------------
# 4. NaN guard


def test_nonfinite_update_stops_with_the_last_good_state_saved(tmp_path):
  """learning_rate=1e30 (Adam): the first step's loss and gradient are finite but its update is
  not (its norm overflows float32). One error line; the saved state is the last good one, all
  finite, with nonfinite_step reset, and `launch.eval` on it gives finite metrics. log_every is
  the default 100, past the first checkpoint (20) and evaluation (10): neither may save or
  evaluate the state of the NaN run before the check at the log step."""
  workdir = tmp_path / "run"
  proc = train(workdir, "--config.optimizer.learning_rate=1e30", "--config.train.log_every=100")
  line = one_error(proc, 2)
  assert "Loss, gradient or update became NaN/Inf at step 1" in line, line
  assert "optimizer.learning_rate" in line and "rerun the same command" in line
  assert "--config.train.overwrite=True" in line
  assert steps(workdir) == [0]
  assert steps(workdir, "best_checkpoint") == []  # the initial state was never evaluated

  import jax
  import numpy as np
  from rich.console import Console

  import experiments
  from dlcore.config import load_config_json
  from dlcore.train import loop
  config = load_config_json(workdir)
  assert config.optimizer.learning_rate == 1e30
  step, state, _, _ = loop.restore_or_init(experiments.make_task(config), workdir,
                                           Console(stderr=True), "latest")
  assert step == 0 and int(state.step) == 0
  assert int(state.nonfinite_step) == -1
  for leaf in jax.tree.leaves(state):
    leaf = np.asarray(leaf)
    if np.issubdtype(leaf.dtype, np.inexact):
      assert np.isfinite(leaf).all()

  metrics = final_json(ok(evaluate(workdir)).stdout)
  assert (metrics["step"], metrics["which"]) == (0, "latest") and all_finite(metrics), metrics


# ---------------------------------------------------------------------------------------------
# 5. launch.eval: best vs latest


def test_eval_auto_is_the_best_state_training_evaluated(base):
  workdir, result = base
  assert steps(workdir, "best_checkpoint") == [40]
  auto = final_json(ok(evaluate(workdir)).stdout)
  assert (auto["which"], auto["step"]) == ("best", 40)
  assert auto["loss"] == result["test"]["loss"]  # exactly what training's final eval reported
  assert {k: auto[k] for k in result["test"]} == result["test"]
  latest = final_json(ok(evaluate(workdir, "--which", "latest")).stdout)
  assert (latest["which"], latest["step"]) == ("latest", 60)
  assert latest["loss"] != auto["loss"] and all_finite(latest)


# ---------------------------------------------------------------------------------------------
# 6. SIGKILL during a checkpoint save


def test_sigkill_during_a_save_then_rerun_is_bitwise_identical(tmp_path, base):
  """Saving every step, killed with SIGKILL right after a save started (its temporary dir
  present); the rerun of the same command finishes with bitwise the final test metrics of the
  uninterrupted base run (which differs only in checkpoint_every, which changes no
  computation)."""
  workdir = tmp_path / "run"
  argv = [*RUN, "--config.train.checkpoint_every=1", "--workdir", str(workdir)]
  env = dict(os.environ, PYTHONPATH=str(REPO), **ONE_DEVICE)
  proc = subprocess.Popen([sys.executable, "-m", "launch.train", *argv], cwd=REPO, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  ckpts = workdir / "checkpoints"
  try:
    deadline = time.time() + 240
    while not (ckpts / "5").is_dir():
      assert proc.poll() is None, f"run ended before checkpoint 5: {proc.communicate()[1][-2000:]}"
      assert time.time() < deadline, "no checkpoint 5 in time"
      time.sleep(0.01)
    deadline = time.time() + 10  # then kill while the next save is being written
    while time.time() < deadline and not any("tmp" in p.name for p in ckpts.iterdir()):
      time.sleep(0.002)
  finally:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
  assert proc.returncode == -signal.SIGKILL
  assert steps(workdir)[-1] < 60
  assert any("tmp" in p.name for p in ckpts.iterdir())  # a partial save is left behind

  resumed = ok(run_cli("launch.train", *argv, env=ONE_DEVICE))
  assert "resumed from checkpoint at step" in console(resumed)
  result = final_json(resumed.stdout)
  assert result["step"] == 60
  assert result["test"] == base[1]["test"]  # bitwise on CPU
  assert not any("tmp" in p.name for p in ckpts.iterdir())
  assert steps(workdir) == [58, 59, 60]
