"""The `dlcore` console command (declared in pyproject.toml):

  dlcore train --config configs/<name>.py --workdir DIR [--config.a.b=v]
  dlcore eval --workdir DIR [--split test] [--which auto|best|latest]

the same as `python -m launch.train ...` and `python -m launch.eval ...`.
"""

from __future__ import annotations

import sys

COMMANDS = ("train", "eval")


def main() -> None:
  if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    print(f"usage: dlcore {{{'|'.join(COMMANDS)}}} --config ... --workdir ...", file=sys.stderr)
    sys.exit(2)
  command = sys.argv.pop(1)
  sys.argv[0] = f"dlcore {command}"
  from launch import cli
  if command == "train":
    from launch import train as module
  else:
    from launch import eval as module
  cli.run(module.main)


if __name__ == "__main__":
  main()
