"""The command line: resume after SIGKILL, SIGTERM handling, one-line errors, launch.eval."""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, run_cli

# A short digits run: 600 steps, checkpoints every 50, logs every 50.
RUN = ["--config", "configs/digits_mlp.py", "--config.train.num_steps=600",
       "--config.train.checkpoint_every=50", "--config.train.log_every=50",
       "--config.train.eval_every=100", "--config.train.progress=False",
       "--config.mesh.num_devices=1"]
ONE_DEVICE = {"XLA_FLAGS": ""}


def final_json(stdout: str) -> dict:
  return json.loads(stdout.strip().splitlines()[-1])


def start(workdir: pathlib.Path) -> subprocess.Popen:
  env = dict(os.environ, PYTHONPATH=str(REPO), **ONE_DEVICE)
  return subprocess.Popen([sys.executable, "-m", "launch.train", *RUN, "--workdir", str(workdir)],
                          cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def wait_for_checkpoint(workdir: pathlib.Path, step: int, proc: subprocess.Popen,
                        timeout: float = 120) -> None:
  deadline = time.time() + timeout
  while not (workdir / "checkpoints" / str(step)).is_dir():
    assert proc.poll() is None, f"run ended before checkpoint {step}: {proc.communicate()}"
    assert time.time() < deadline, "no checkpoint in time"
    time.sleep(0.02)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[pathlib.Path, dict]:
  workdir = tmp_path_factory.mktemp("uninterrupted")
  proc = run_cli("launch.train", *RUN, "--workdir", str(workdir), env=ONE_DEVICE)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return workdir, final_json(proc.stdout)


def test_sigkill_then_restart_gives_identical_results(tmp_path, uninterrupted):
  """Killed with SIGKILL after its step-100 checkpoint, then restarted with the same command:
  resumes from the latest checkpoint (same data order and RNG stream) and ends with bitwise
  the same final test metrics and train losses as the uninterrupted run."""
  proc = start(tmp_path)
  wait_for_checkpoint(tmp_path, 100, proc)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL
  resumed = run_cli("launch.train", *RUN, "--workdir", str(tmp_path), env=ONE_DEVICE)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert "resumed from checkpoint at step" in resumed.stdout
  ref_dir, ref = uninterrupted
  assert final_json(resumed.stdout)["test"] == ref["test"]  # bitwise on CPU

  def losses(d):
    return [(e["step"], e["loss"]) for e in map(json.loads,
                                                (d / "metrics.jsonl").read_text().splitlines())
            if e["split"] == "train"]

  assert losses(tmp_path) == losses(ref_dir)


def test_sigterm_saves_and_exits_cleanly(tmp_path):
  proc = start(tmp_path)
  wait_for_checkpoint(tmp_path, 50, proc)
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 0, err[-2000:]
  assert "SIGTERM received: saved checkpoint at step" in out
  result = final_json(out)
  assert result["status"] == "interrupted"
  assert (tmp_path / "checkpoints" / str(result["step"])).is_dir()


def test_second_concurrent_launch_stops_and_the_first_finishes_unharmed(tmp_path, uninterrupted):
  """Two launches of the same command on one workdir: the second stops at once with one error
  line naming the first's pid; the first finishes with bitwise the uninterrupted results, and
  its checkpoints restore (launch.eval)."""
  first = start(tmp_path)
  wait_for_checkpoint(tmp_path, 50, first)
  t0 = time.time()
  second = run_cli("launch.train", *RUN, "--workdir", str(tmp_path), env=ONE_DEVICE)
  assert second.returncode == 2 and time.time() - t0 < 30
  lines = second.stderr.strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in second.stderr
  assert lines[0].startswith("error: ") and f"in use by process {first.pid}" in lines[0]
  out, err = first.communicate(timeout=300)
  assert first.returncode == 0, err[-2000:]
  assert final_json(out)["test"] == uninterrupted[1]["test"]
  again = run_cli("launch.eval", "--workdir", str(tmp_path), "--which", "latest", env=ONE_DEVICE)
  assert again.returncode == 0 and json.loads(again.stdout.splitlines()[-1])["step"] == 600


def test_dlcore_console_command_is_launch_eval_and_train(uninterrupted, tmp_path):
  """`dlcore eval|train` (pyproject [project.scripts] -> launch.console:main) behave as
  `python -m launch.eval|train`; an unknown subcommand is a usage line, exit 2."""
  workdir, ref = uninterrupted
  proc = run_cli("launch.console", "eval", "--workdir", str(workdir), env=ONE_DEVICE)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert {k: final_json(proc.stdout)[k] for k in ref["test"]} == ref["test"]
  bad = run_cli("launch.console", "train", "--config", "configs/digits_mlp.py",
                "--config.model.featurs=(8,)", "--workdir", str(tmp_path), env=ONE_DEVICE)
  assert bad.returncode == 2 and bad.stderr.startswith("error: unknown config key")
  usage = run_cli("launch.console", "fit", env=ONE_DEVICE)
  assert usage.returncode == 2 and "usage: dlcore {train|eval}" in usage.stderr


def test_launch_eval_prints_the_final_metrics(uninterrupted):
  workdir, ref = uninterrupted
  proc = run_cli("launch.eval", "--workdir", str(workdir), "--split", "test", env=ONE_DEVICE)
  assert proc.returncode == 0, proc.stderr[-2000:]
  metrics = json.loads(proc.stdout.strip().splitlines()[-1])
  # --which auto: the state training's final test used (the best one, early stopping restores
  # it), so the figures are exactly the training run's final test metrics
  assert metrics["which"] == "best" and metrics["split"] == "test" and metrics["step"] < 600
  assert {k: metrics[k] for k in ref["test"]} == ref["test"]
  latest = run_cli("launch.eval", "--workdir", str(workdir), "--which", "latest", env=ONE_DEVICE)
  assert latest.returncode == 0, latest.stderr[-2000:]
  latest = json.loads(latest.stdout.strip().splitlines()[-1])
  assert latest["step"] == 600 and latest["which"] == "latest"
  assert latest["num_examples"] == 360 and 0.9 < latest["accuracy"] <= 1.0


def _write_corrupt_mnist(folder: pathlib.Path) -> None:
  folder.mkdir(parents=True)
  for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    with gzip.open(folder / name, "wb") as f:
      f.write(b"\x00\x00\x08\x99" + b"\x00" * 64)  # bad magic number


ERROR_CASES = {
    "unknown_key": (["--config", "configs/digits_mlp.py", "--config.model.featurs=(8,)"],
                    "unknown config key 'model.featurs'. Did you mean 'model.features'?"),
    "bad_type": (["--config", "configs/digits_mlp.py", "--config.train.batch_size=abc"],
                 "batch_size"),
    "unknown_model": (["--config", "configs/digits_mlp.py", "--config.model.name=mpl"],
                      "Unknown model 'mpl'"),
    "missing_data_dir": (["--config", "configs/mnist_mlp.py",
                          "--config.data.data_dir=/nonexistent/dlcore-data"],
                         "/nonexistent/dlcore-data"),
    "corrupt_idx": (["--config", "configs/mnist_mlp.py", "--config.data.path={corrupt}"],
                    "magic"),
    "loss_task_mismatch": (["--config", "configs/digits_mlp.py", "--config.loss.name=huber"],
                           "loss 'huber' or metrics ('accuracy',) do not fit"),
    "nan_loss": (["--config", "configs/digits_mlp.py", "--config.optimizer.name=sgd",
                  "--config.optimizer.learning_rate=1e30", "--config.train.num_steps=50",
                  "--config.train.log_every=10"], "NaN/Inf at step"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_bad_input_gives_one_line_error(case, tmp_path):
  args, expected = ERROR_CASES[case]
  corrupt = tmp_path / "corrupt_mnist"
  _write_corrupt_mnist(corrupt)
  args = [a.replace("{corrupt}", str(corrupt)) for a in args]
  t0 = time.time()
  proc = run_cli("launch.train", *args, "--workdir", str(tmp_path / "run"),
                 env=dict(ONE_DEVICE, DLCORE_DATA_DIR=str(tmp_path)))
  elapsed = time.time() - t0
  assert proc.returncode == 2, (proc.stdout[-1000:], proc.stderr[-2000:])
  assert "Traceback" not in proc.stderr + proc.stdout
  lines = [l for l in proc.stderr.strip().splitlines() if l.startswith("error:")]
  assert len(lines) == 1, proc.stderr
  assert expected in lines[0]
  assert elapsed < 60
  if case == "corrupt_idx":
    assert "corrupt_mnist" in lines[0]  # names the file
  if case == "nan_loss":  # the last good state was saved before stopping
    assert list((tmp_path / "run" / "checkpoints").iterdir())
