"""Evaluate a run: `python -m launch.eval --workdir DIR [--split test]`.

Restores the latest checkpoint of DIR (with DIR/config.json) and prints one JSON line.
"""

from __future__ import annotations

import json

from absl import flags

from launch import cli

_WORKDIR = flags.DEFINE_string("workdir", None, "The --workdir of a training run.")
_SPLIT = flags.DEFINE_string("split", "test", "Which split to evaluate (train/validation/test).")


def main(argv: list[str]) -> None:
  del argv
  if not _WORKDIR.value:
    cli.fail("--workdir is required")
  from experiments import common, get_experiment
  config = common.load_config_json(_WORKDIR.value)
  metrics = get_experiment(config).evaluate(config, _WORKDIR.value, _SPLIT.value)
  print(json.dumps(metrics, default=float), flush=True)


if __name__ == "__main__":
  cli.run(main)
