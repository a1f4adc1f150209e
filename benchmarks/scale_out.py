"""Scale-out equivalence and FSDP memory on 8 fake CPU devices (issue: scale-out and speed).

  python -m benchmarks.scale_out [--steps 100] [--models mlp,gpt] [--out runs/scale_out]

For each model (`mlp`: digits_mlp with BatchNorm, no dropout; `gpt`: a small GPT, 2 layers,
d_model 64, 4 heads, on Tiny Shakespeare), with a constant learning rate so that a run stopped
halfway and continued has the same schedule, it trains `--steps` steps (logging every tenth of
them) as:

  one       1 device, jit (the reference curve)
  pmap8     8 devices, config.mesh.mode='pmap'
  fsdp8     8 devices, FSDP (every array sharded over `data`)
  tp2x4     a 2 (data) x 4 (model) mesh, tensor-parallel Transformer rules
  proc2x4   2 processes x 4 fake devices (`launch.multiprocess`, coordinator on localhost)
  8to1      FSDP on 8 devices to step steps/2, continued on 1 device
  8to2proc  FSDP on 8 devices to step steps/2, continued on 2 processes x 4 devices

and prints the largest relative difference of each curve from `one` (target: 1e-4). Then the
per-device bytes of the parameters and optimizer state of `configs/shakespeare_gpt.py`
(3.2 M parameters) under FSDP on 8 devices, from the arrays' shardings (target: <= 1/8 + 5 %
of the replicated size). Each run is a `launch.train` process (data from $DLCORE_DATA_DIR).
Prints `RESULT scale_out ...` lines; exits 0 whatever the figures are.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
EIGHT = "--xla_force_host_platform_device_count=8"

MODELS = {
    "mlp": ["--config", "configs/digits_mlp.py", "--config.model.batch_norm=True",
            "--config.model.dropout_rate=0.0", "--config.optimizer.schedule.name=constant",
            "--config.eval.reports=()"],
    "gpt": ["--config", "configs/shakespeare_gpt_small.py", "--config.model.num_layers=2",
            "--config.model.d_model=64", "--config.model.num_heads=4",
            "--config.train.batch_size=16", "--config.optimizer.schedule.name=constant",
            "--config.optimizer.schedule.warmup_steps=0", "--config.evals.generate.at_end=False",
            "--config.evals.heads.at_end=False"],
}
MODES = {
    "one": ["--config.mesh.num_devices=1"],
    "pmap8": ["--config.mesh.num_devices=8", "--config.mesh.mode=pmap"],
    "fsdp8": ["--config.mesh.num_devices=8", "--config.mesh.fsdp=True",
              "--config.mesh.fsdp_min_size=0"],
    "tp2x4": ["--config.mesh.num_devices=8", "--config.mesh.model=4",
              "--config.mesh.rules=tensor_parallel"],
    "proc2x4": ["--config.mesh.num_devices=0"],
}


def train(args: list[str], workdir: pathlib.Path, steps: int, every: int,
          processes: int = 1) -> None:
  common = ["--workdir", str(workdir), f"--config.train.num_steps={steps}",
            f"--config.train.log_every={every}", f"--config.train.checkpoint_every={steps}",
            "--config.train.progress=False"]
  env = dict(os.environ, XLA_FLAGS=EIGHT, JAX_PLATFORMS="cpu")
  if processes == 1:
    command = [sys.executable, "-m", "launch.train", *args, *common]
  else:
    command = [sys.executable, "-m", "launch.multiprocess", "--num_processes", str(processes),
               "--devices_per_process", str(8 // processes), "--", *args, *common]
  proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
  if proc.returncode:
    raise SystemExit(f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")


def losses(workdir: pathlib.Path) -> list[float]:
  lines = (workdir / "metrics.jsonl").read_text().splitlines()
  return [e["loss"] for e in map(json.loads, lines) if e["split"] == "train"]


def max_rel(a: list[float], b: list[float]) -> float:
  if len(a) != len(b):
    return float("inf")
  return max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b))


def equivalence(model: str, steps: int, out: pathlib.Path) -> dict[str, float]:
  base, every = MODELS[model], max(1, steps // 10)
  for mode, extra in MODES.items():
    train(base + extra, out / model / mode, steps, every, 2 if mode.startswith("proc") else 1)
  half = steps // 2
  for name, processes, extra in (("8to1", 1, MODES["one"]), ("8to2proc", 2, MODES["proc2x4"])):
    # the first half's checkpoint_every is its own num_steps: it saves at step steps/2
    train(base + MODES["fsdp8"], out / model / name, half, every)
    train(base + extra + ["--config.mesh.fsdp=False"], out / model / name, steps, every,
          processes)
  ref = losses(out / model / "one")
  return {name: max_rel(losses(out / model / name), ref)
          for name in [*MODES, "8to1", "8to2proc"] if name != "one"}


def fsdp_memory() -> tuple[int, int]:
  """(per-device, replicated) bytes of shakespeare_gpt's parameters and optimizer state under
  FSDP on 8 devices; run in a child with 8 fake devices."""
  code = (
      "import json, jax\n"
      "from launch.cli import load_config_file\n"
      "from experiments import make_task\n"
      "from dlcore.train.loop import initial_state\n"
      "from dlcore.train.sharding import bytes_per_device\n"
      "c = load_config_file('configs/shakespeare_gpt.py')\n"
      "c.mesh.update(num_devices=8, fsdp=True)\n"
      "state, _ = initial_state(make_task(c))\n"
      "part = state.parts['model']\n"
      "print(json.dumps(bytes_per_device((part.params, part.opt_state))))\n")
  env = dict(os.environ, XLA_FLAGS=EIGHT, JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                        text=True)
  if proc.returncode:
    raise SystemExit(proc.stderr[-3000:])
  held, total = json.loads(proc.stdout.strip().splitlines()[-1])
  return held, total


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--steps", type=int, default=100)
  parser.add_argument("--models", default="mlp,gpt")
  parser.add_argument("--out", default="runs/scale_out")
  parser.add_argument("--skip_memory", action="store_true")
  args = parser.parse_args()
  out = (REPO / args.out).resolve()
  shutil.rmtree(out, ignore_errors=True)
  for model in [m for m in args.models.split(",") if m]:
    if model not in MODELS:
      raise SystemExit(f"unknown model {model!r}; valid: {', '.join(MODELS)}")
    diffs = equivalence(model, args.steps, out)
    print(f"{model}: largest relative train-loss difference from 1 device over {args.steps} "
          f"steps (target 1e-4)")
    for name, d in diffs.items():
      print(f"  {name:9s} {d:.2e}  {'PASS' if d <= 1e-4 else 'FAIL'}")
    print(f"RESULT scale_out model={model} steps={args.steps} " +
          " ".join(f"{k}={v:.2e}" for k, v in diffs.items()))
  if not args.skip_memory:
    held, total = fsdp_memory()
    ratio = held / total
    print(f"shakespeare_gpt under FSDP on 8 devices: {held:,} of {total:,} parameter + "
          f"optimizer bytes per device = {ratio:.4f} (target <= {1 / 8 + 0.05:.4f}) "
          f"{'PASS' if ratio <= 1 / 8 + 0.05 else 'FAIL'}")
    print(f"RESULT scale_out_memory per_device={held} replicated={total} ratio={ratio:.4f}")


if __name__ == "__main__":
  main()
