"""Train with N processes on this machine, joined by JAX's distributed runtime (coordinator on
localhost): how a multi-host run behaves (each process feeds its slice of the global batch,
process 0 writes logs and plots, Orbax writes one checkpoint from all of them), for tests and
for users without a cluster.

  python -m launch.multiprocess --num_processes 2 --devices_per_process 4 -- \\
      --config configs/digits_mlp.py --workdir runs/digits_mlp_2proc [--config.a.b=v ...]

Every process runs `python -m launch.train <arguments after -->` with DLCORE_DISTRIBUTED=1,
DLCORE_COORDINATOR=127.0.0.1:<port>, DLCORE_NUM_PROCESSES, DLCORE_PROCESS_ID and (with
--devices_per_process) that many fake CPU devices. Process 0's output is shown; the others'
goes to <workdir>/process_<i>.log. The exit status is the first non-zero one, else 0; when one
process fails the others are stopped.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import socket
import subprocess
import sys
import time


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return int(s.getsockname()[1])


def process_env(base: dict, index: int, count: int, port: int, devices: int) -> dict:
  """The environment of process `index` of `count` (module docstring)."""
  env = dict(base, DLCORE_DISTRIBUTED="1", DLCORE_COORDINATOR=f"127.0.0.1:{port}",
             DLCORE_NUM_PROCESSES=str(count), DLCORE_PROCESS_ID=str(index))
  if devices:
    flags = [f for f in env.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    env["XLA_FLAGS"] = " ".join(flags + [f"--xla_force_host_platform_device_count={devices}"])
    env["JAX_PLATFORMS"] = "cpu"
  return env


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
  if "--" not in argv:
    raise SystemExit("usage: python -m launch.multiprocess --num_processes N "
                     "[--devices_per_process D] -- --config configs/<name>.py --workdir DIR")
  split = argv.index("--")
  parser = argparse.ArgumentParser(prog="python -m launch.multiprocess")
  parser.add_argument("--num_processes", type=int, required=True)
  parser.add_argument("--devices_per_process", type=int, default=0,
                      help="fake CPU devices per process (0: the machine's own devices)")
  args = parser.parse_args(argv[:split])
  if args.num_processes < 1 or args.devices_per_process < 0:
    parser.error("--num_processes must be >= 1 and --devices_per_process >= 0")
  return args, argv[split + 1:]


def workdir_of(train_args: list[str]) -> pathlib.Path:
  for i, a in enumerate(train_args):
    if a.startswith("--workdir="):
      return pathlib.Path(a.split("=", 1)[1])
    if a == "--workdir" and i + 1 < len(train_args):
      return pathlib.Path(train_args[i + 1])
  raise SystemExit("error: the arguments after -- need --workdir DIR")


def wait_all(procs: list[subprocess.Popen]) -> list[int]:
  """Exit codes of all processes; when one fails, the others (which would wait for it at the
  next collective) are stopped."""
  while any(p.poll() is None for p in procs):
    if any(p.poll() not in (None, 0) for p in procs):
      for p in procs:
        if p.poll() is None:
          p.terminate()
    time.sleep(0.2)
  return [p.returncode for p in procs]


def main(argv: list[str]) -> int:
  args, train_args = parse(argv)
  workdir = workdir_of(train_args)
  workdir.mkdir(parents=True, exist_ok=True)
  port = free_port()
  command = [sys.executable, "-m", "launch.train", *train_args]
  procs, logs = [], []
  for i in range(args.num_processes):
    env = process_env(os.environ, i, args.num_processes, port, args.devices_per_process)
    out = None if i == 0 else open(workdir / f"process_{i}.log", "w")
    logs.append(out)
    procs.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT
                                  if out else None))
  codes = wait_all(procs)
  for f in logs:
    if f is not None:
      f.close()
  return next((c for c in codes if c), 0)


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
