"""One graph config over N seeds: the mean ± std of its test figure and the wall time per run.

  DLCORE_DATA_DIR=../shared/data python -m benchmarks.cora_seeds --config configs/cora_gcn.py
      [--seeds 10] [--first_seed 0] [--set train.num_epochs=300 ...] [--workdir DIR]

Each seed is a full, separate run of the config (`launch.run.train`, the loop, in a fresh
workdir under --workdir or a temporary folder), with `seed` = first_seed + i; files-writing
evaluators (the t-SNE plot) run for the first seed only. The figure is `test.accuracy` of the
result: the test-node accuracy of a GCN/GAT, the probe's test accuracy for DeepWalk/node2vec.
Runs are sequential (each compiles its own step; the wall time of a run includes loading the
graph and compiling). Prints one line per seed, then `RESULT cora_seeds config=<name>
mean=<m> std=<s> runs=<n> seconds_per_run=<t>` (std: the sample standard deviation, ddof=1).
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # also runnable as `python benchmarks/cora_seeds.py`
  sys.path.insert(0, str(REPO))

from launch import run  # noqa: E402
from launch.cli import load_config_file  # noqa: E402


def override(config, assignment: str) -> None:
  """`key.sub=value` (a Python literal, else a string) into the config."""
  key, _, text = assignment.partition("=")
  *path, last = key.split(".")
  node = config
  for part in path:
    node = node[part]
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    value = text
  node[last] = value


def run_seeds(config_path: str, seeds: list[int], sets: list[str], workdir: pathlib.Path):
  """[(seed, test accuracy, seconds)] of one run per seed."""
  out = []
  for i, seed in enumerate(seeds):
    config = load_config_file(config_path)
    for assignment in sets:
      override(config, assignment)
    config.seed = seed
    config.train.progress = False
    if i > 0:
      for name in [n for n, spec in config.evals.items() if spec.type == "plot"]:
        del config.evals[name]
    start = time.time()
    result = run.train(config, workdir / f"seed_{seed}")
    seconds = time.time() - start
    accuracy = float(result["test"]["accuracy"])
    print(f"seed {seed}: test accuracy {accuracy:.4f} ({seconds:.1f} s)", flush=True)
    out.append((seed, accuracy, seconds))
  return out


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--config", required=True)
  parser.add_argument("--seeds", type=int, default=10)
  parser.add_argument("--first_seed", type=int, default=0)
  parser.add_argument("--set", action="append", default=[], help="key=value override")
  parser.add_argument("--workdir", default="", help="keep the runs here (default: temporary)")
  args = parser.parse_args(argv)
  seeds = list(range(args.first_seed, args.first_seed + args.seeds))
  with tempfile.TemporaryDirectory() as tmp:
    workdir = pathlib.Path(args.workdir or tmp)
    start = time.time()
    rows = run_seeds(args.config, seeds, args.set, workdir)
    total = time.time() - start
  accs = [a for _, a, _ in rows]
  std = statistics.stdev(accs) if len(accs) > 1 else 0.0
  name = pathlib.Path(args.config).stem
  print(f"{name}: test accuracy {statistics.mean(accs):.4f} ± {std:.4f} over {len(accs)} seeds "
        f"(min {min(accs):.4f}, max {max(accs):.4f}); {total / len(rows):.1f} s per run, "
        f"longest {max(s for _, _, s in rows):.1f} s")
  print(f"RESULT cora_seeds config={name} mean={statistics.mean(accs):.4f} std={std:.4f} "
        f"runs={len(accs)} seconds_per_run={total / len(rows):.1f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
