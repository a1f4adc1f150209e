"""Evaluate a run: `python -m launch.eval --workdir DIR [--split test] [--which auto|best|latest]`
(or `dlcore eval ...`).

Restores a checkpoint of DIR (with DIR/config.json) and prints one JSON line with the metrics of
the run's final evaluators. `--which auto` (the default) evaluates the state that training's
final evaluation used: the best state when early stopping restores it, else the latest.
"""

from __future__ import annotations

import json

from absl import flags

from launch import cli

_WORKDIR = flags.DEFINE_string("workdir", None, "The --workdir of a training run.")
_SPLIT = flags.DEFINE_string("split", "", "Split to evaluate (default: each evaluator's own).")
_WHICH = flags.DEFINE_enum("which", "auto", ["auto", "best", "latest"],
                           "Which checkpoint: the best (early stopping) or the latest state.")


def main(argv: list[str]) -> None:
  del argv
  if not _WORKDIR.value:
    cli.fail("--workdir is required")
  from dlcore.config import load_config_json
  from launch import run
  config = load_config_json(_WORKDIR.value)
  metrics = run.evaluate(config, _WORKDIR.value, _SPLIT.value, _WHICH.value)
  print(json.dumps(metrics, default=float), flush=True)


if __name__ == "__main__":
  cli.run(main)
