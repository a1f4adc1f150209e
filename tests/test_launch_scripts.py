"""The cluster launch scripts (launch/gpu_slurm.sh, launch/tpu_vm.sh) without a cluster: usage
errors, and with DLCORE_DRY_RUN=1 the commands and environment they would run (faked Slurm
variables), which must be what they do run and what launch.train's flag parser accepts."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from conftest import REPO

CONFIG, WORKDIR = "configs/digits_mlp.py", "runs/digits mlp"
OVERRIDES = ["--config.train.num_steps=3", "--config.name=digits mlp; $HOME (x)"]
TPU_ARGS = ["my-tpu", "us-central2-b", CONFIG, WORKDIR, *OVERRIDES]
# Stands in for srun and gcloud: logs its command line the way the dry run prints it.
FAKE = ('#!/usr/bin/env bash\nline=$(printf "%q " "$(basename "$0")" "$@")\n'
        'echo "${line% }" >> "$FAKE_LOG"\n')


def script(name: str, *args: str, fakes=None, **env: str) -> subprocess.CompletedProcess:
  """bash launch/<name> args with only PATH, HOME and `env` set (fakes: tmp dir for srun/gcloud)."""
  path = os.environ["PATH"]
  if fakes is not None:
    for tool in ("srun", "gcloud"):
      (fakes / tool).write_text(FAKE)
      (fakes / tool).chmod(0o755)
    path, env = f"{fakes}:{path}", dict(env, FAKE_LOG=str(fakes / "log"))
  return subprocess.run(["bash", str(REPO / "launch" / name), *args], capture_output=True,
                        text=True, timeout=30, cwd=REPO,
                        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **env})


def dry_run(name: str, *args: str, **env: str) -> tuple[dict, list[list[str]]]:
  """(environment from the `export` lines, commands as argv lists) of a dry run."""
  r = script(name, *args, DLCORE_DRY_RUN="1", **env)
  assert r.returncode == 0, r.stderr
  lines = r.stdout.splitlines()
  exports = dict(shlex.split(s)[1].split("=", 1) for s in lines if s.startswith("export "))
  return exports, [shlex.split(s) for s in lines if not s.startswith("export ")]


def train_args(argv: list[str]) -> list[str]:
  """The arguments of `.venv/bin/python -m launch.train` in `argv`."""
  i = argv.index("launch.train")
  assert argv[i - 2:i] == [".venv/bin/python", "-m"], argv
  return argv[i + 1:]


def slurm(nodes: int, **env: str):
  return dry_run("gpu_slurm.sh", CONFIG, WORKDIR, *OVERRIDES, SLURM_NNODES=str(nodes),
                 SLURM_SUBMIT_DIR=str(REPO), SLURM_GPUS_ON_NODE="4", **env)


def tpu_remote() -> tuple[list[list[str]], list[str]]:
  _, commands = dry_run("tpu_vm.sh", *TPU_ARGS)
  ssh = commands[1]
  return commands, shlex.split(ssh[ssh.index("--command") + 1])


@pytest.mark.parametrize("name,args", [("gpu_slurm.sh", [CONFIG]),
                                       ("tpu_vm.sh", ["my-tpu", "zone", CONFIG])])
def test_missing_arguments_print_usage_and_exit_2(name, args):
  r = script(name, *args, DLCORE_DRY_RUN="1")
  assert (r.returncode, r.stdout) == (2, "") and r.stderr.startswith("usage: "), r


@pytest.mark.parametrize("nodes", [1, 2])
def test_slurm_dry_run(nodes):
  exports, commands = slurm(nodes)
  assert len(commands) == 1 and commands[0][0] == "srun", commands
  srun = commands[0][:commands[0].index(".venv/bin/python")]
  assert f"--ntasks={nodes}" in srun and "--ntasks-per-node=1" in srun
  assert train_args(commands[0]) == ["--config", CONFIG, "--workdir", WORKDIR, *OVERRIDES]
  expected = {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.9"}
  if nodes > 1:  # jax.distributed from Slurm's env, each process with all 4 GPUs of its node
    expected.update(DLCORE_DISTRIBUTED="1", JAX_LOCAL_DEVICE_IDS="0,1,2,3")
  assert exports == expected
  assert slurm(nodes, XLA_PYTHON_CLIENT_MEM_FRACTION="0.5")[0]["XLA_PYTHON_CLIENT_MEM_FRACTION"] \
      == "0.5"


def test_tpu_dry_run_quotes_the_remote_command():
  (scp, ssh), remote = tpu_remote()
  assert scp[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "scp"] and "--worker=all" in scp
  assert scp[-2:] == [str(REPO), "my-tpu:~/"]
  assert ssh[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "my-tpu"]
  assert "--worker=all" in ssh and ssh[ssh.index("--zone") + 1] == "us-central2-b"
  assert remote[:2] == ["cd", f"~/{REPO.name}"]
  assert remote[remote.index("launch.train") - 3] == "DLCORE_DISTRIBUTED=1"
  assert train_args(remote) == ["--config", CONFIG, "--workdir", WORKDIR, *OVERRIDES]


@pytest.mark.parametrize("name,args,env", [
    ("gpu_slurm.sh", [CONFIG, WORKDIR, *OVERRIDES], {"SLURM_NNODES": "2"}),
    ("tpu_vm.sh", TPU_ARGS, {})])
def test_dry_run_prints_what_a_real_run_runs(tmp_path, name, args, env):
  dry = script(name, *args, fakes=tmp_path, DLCORE_DRY_RUN="1", **env)
  assert dry.returncode == 0 and not (tmp_path / "log").exists()  # nothing ran
  real = script(name, *args, fakes=tmp_path, **env)
  assert real.returncode == 0, real.stderr
  printed = [s for s in dry.stdout.splitlines() if not s.startswith("export ")]
  assert (tmp_path / "log").read_text().splitlines() == printed


def test_launch_train_flag_parser_accepts_the_scripts_arguments():
  args = train_args(slurm(2)[1][0])
  assert args == train_args(tpu_remote()[1]) and (REPO / args[1]).is_file()
  code = ("import json, sys; from launch import cli, train; cli.parse_flags(sys.argv); "
          "c = train._CONFIG.value; print(json.dumps([c.train.num_steps, c.name, "
          "train._WORKDIR.value]))")  # config_flags finds the overrides in sys.argv
  r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                     timeout=60, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
  assert r.returncode == 0, r.stderr
  assert json.loads(r.stdout.splitlines()[-1]) == [3, OVERRIDES[1].split("=", 1)[1], WORKDIR]
