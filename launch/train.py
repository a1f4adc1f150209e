"""Train any config (or `dlcore train ...`):

  python -m launch.train --config configs/<name>.py --workdir DIR [--config.a.b=v]


Rerunning with the same workdir resumes from its latest checkpoint. The last line printed is a
JSON object with the final test metrics.
"""

from __future__ import annotations

import json

from absl import flags
from ml_collections import config_flags

from launch import cli

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a configs/<name>.py file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and plots.")


def main(argv: list[str]) -> None:
  del argv
  if _CONFIG.value is None:
    cli.fail("--config is required, e.g. --config configs/digits_mlp.py")
  if not _WORKDIR.value:
    cli.fail("--workdir is required, e.g. --workdir runs/digits_mlp")
  from launch import run  # after flag parsing: errors stay fast
  with cli.hold_workdir(_WORKDIR.value):
    result = run.train(_CONFIG.value, _WORKDIR.value)
  print(json.dumps({"workdir": _WORKDIR.value, **result}, default=float), flush=True)


if __name__ == "__main__":
  cli.run(main)
