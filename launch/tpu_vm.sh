#!/usr/bin/env bash
# Run a dlcore config on every worker of a Cloud TPU VM slice (one process per host; the mesh
# spans all chips, batches are split across hosts by jax.make_array_from_process_local_data).
#   launch/tpu_vm.sh TPU_NAME ZONE configs/<name>.py gs://BUCKET/WORKDIR [--config.a.b=v ...]
# Needs gcloud locally; installs dlcore with the `tpu` extra on each worker on first use.
# Overrides reach the workers unchanged (spaces and shell characters included).
# Dry run: DLCORE_DRY_RUN=1 launch/tpu_vm.sh ARGS prints the gcloud scp and ssh commands
# (shell-quoted, one a line; the remote command sets DLCORE_DISTRIBUTED=1) to stdout, runs
# nothing and exits 0.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 TPU_NAME ZONE configs/<name>.py WORKDIR [overrides]" >&2; exit 2; }
tpu=$1 zone=$2 config=$3 workdir=$4; shift 4
root=$(cd "$(dirname "$0")/.." && pwd)
repo=$(basename "$root")
train=$(printf '%q ' .venv/bin/python -m launch.train --config "$config" --workdir "$workdir" "$@")
remote="cd ~/$(printf %q "$repo") && (test -x .venv/bin/python || python3.12 -m venv .venv) &&\
 .venv/bin/pip install -q -e '.[tpu]' && DLCORE_DISTRIBUTED=1 ${train% }"
scp=(gcloud compute tpus tpu-vm scp --recurse --zone "$zone" --worker=all "$root" "$tpu":~/)
ssh=(gcloud compute tpus tpu-vm ssh "$tpu" --zone "$zone" --worker=all --command "$remote")
if [ "${DLCORE_DRY_RUN:-}" = 1 ]; then
  line=$(printf '%q ' "${scp[@]}"); echo "${line% }"
  line=$(printf '%q ' "${ssh[@]}"); echo "${line% }"
  exit 0
fi
"${scp[@]}"
"${ssh[@]}"
