#!/usr/bin/env bash
# Submit a dlcore run to a Slurm GPU cluster (one node, all its GPUs in one data-parallel mesh).
#   sbatch launch/gpu_slurm.sh configs/<name>.py WORKDIR [--config.a.b=v ...]
# Install once on the cluster:  python3.12 -m venv .venv && .venv/bin/pip install -e '.[cuda,test]'
# Requeue-safe: Slurm sends SIGTERM before preemption; dlcore saves a checkpoint and exits 0, and
# the requeued job resumes from WORKDIR.
#SBATCH --job-name=dlcore
#SBATCH --nodes=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=16
#SBATCH --time=24:00:00
#SBATCH --signal=TERM@120
#SBATCH --requeue
#SBATCH --output=%x-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
[ $# -ge 2 ] || { echo "usage: sbatch $0 configs/<name>.py WORKDIR [overrides]" >&2; exit 2; }
config=$1 workdir=$2; shift 2
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.9}
srun --ntasks=1 .venv/bin/python -m launch.train --config "$config" --workdir "$workdir" "$@"
