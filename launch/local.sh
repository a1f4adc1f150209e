#!/usr/bin/env bash
# Run any config on this machine: launch/local.sh configs/<name>.py WORKDIR [--config.a.b=v ...]
# Uses .venv (built by `make venv`). Rerunning with the same WORKDIR resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 configs/<name>.py WORKDIR [--config.key=value ...]" >&2; exit 2; }
config=$1 workdir=$2; shift 2
make -s venv
exec .venv/bin/python -m launch.train --config "$config" --workdir "$workdir" "$@"
