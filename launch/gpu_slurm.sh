#!/usr/bin/env bash
# Submit a dlcore run to a Slurm GPU cluster: one process per node, each using all of its node's
# GPUs; with several nodes (DLCORE_DISTRIBUTED=1, jax.distributed from Slurm's environment) the
# processes form one data-parallel mesh. WORKDIR must then be on a filesystem all nodes share.
#   sbatch [--nodes=N] launch/gpu_slurm.sh configs/<name>.py WORKDIR [--config.a.b=v ...]
# Submit from the repo root (the job runs in SLURM_SUBMIT_DIR).
# Install once on the cluster:  python3.12 -m venv .venv && .venv/bin/pip install -e '.[cuda,test]'
# Requeue-safe: Slurm sends SIGTERM before preemption; dlcore saves a checkpoint and exits 0, and
# the requeued job resumes from WORKDIR.
# Dry run: DLCORE_DRY_RUN=1 bash launch/gpu_slurm.sh ARGS prints the DLCORE_*/XLA_*/JAX_*
# environment (`export` lines) and the srun command (shell-quoted) to stdout, runs nothing and
# exits 0; fake SLURM_NNODES (and SLURM_GPUS_ON_NODE) to see a multi-node job.
#SBATCH --job-name=dlcore
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=16
#SBATCH --time=24:00:00
#SBATCH --signal=TERM@120
#SBATCH --requeue
#SBATCH --output=%x-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
usage="usage: sbatch [--nodes=N] $0 configs/<name>.py WORKDIR [overrides]"
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
config=$1 workdir=$2; shift 2
nodes=${SLURM_NNODES:-1}
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.9}
if [ "$nodes" -gt 1 ]; then
  export DLCORE_DISTRIBUTED=1
  # jax.distributed's Slurm detection would restrict each process to GPU $SLURM_LOCALID (one
  # process per GPU); with one process per node it must see all of them.
  gpus=${SLURM_GPUS_ON_NODE:-}
  if [ -z "$gpus" ] && [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
    IFS=, read -ra visible <<< "$CUDA_VISIBLE_DEVICES"; gpus=${#visible[@]}
  fi
  if [ -z "${JAX_LOCAL_DEVICE_IDS:-}" ] && [ -n "$gpus" ]; then
    JAX_LOCAL_DEVICE_IDS=$(seq -s, 0 $((gpus - 1))); export JAX_LOCAL_DEVICE_IDS
  fi
fi
cmd=(srun --ntasks="$nodes" --ntasks-per-node=1 --kill-on-bad-exit=1
     .venv/bin/python -m launch.train --config "$config" --workdir "$workdir" "$@")
if [ "${DLCORE_DRY_RUN:-}" = 1 ]; then
  for name in $(compgen -e | grep -E '^(DLCORE|XLA|JAX)_' | grep -vx DLCORE_DRY_RUN | sort); do
    printf 'export %s=%q\n' "$name" "${!name}"
  done
  line=$(printf '%q ' "${cmd[@]}"); echo "${line% }"
  exit 0
fi
"${cmd[@]}"
