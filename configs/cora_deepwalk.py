"""DeepWalk on Cora (ARC-41; Perozzi et al. 2014): uniform random walks, skip-gram with negative
sampling (ARC-39), then a logistic-regression probe on the standard Planetoid split: 40-step
walks, window 10, 128-d vectors, 5 negatives from degree^0.75, Adam; 10 epochs of one walk from
every node, the walks drawn anew each epoch.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/cora_deepwalk.py --workdir runs/cora_deepwalk
          (10 seeds: python -m benchmarks.cora_seeds --config configs/cora_deepwalk.py)
Expected: probe test accuracy 0.7127 ± 0.0144 over seeds 0-9 (min 0.692, max 0.747); window 5
          gave 0.689 (2 seeds).
Time:     30-50 s per run with the machine otherwise idle, compilation and t-SNE included
          (52 s mean over the 10 seeds, the last ones shared with other jobs).
Curriculum: ARC-41, ARC-39, ARC-43.
"""

import ml_collections

from configs.defaults import graph


def get_config() -> ml_collections.ConfigDict:
  c = graph.get_config("walks")
  c.name = "cora_deepwalk"
  return c
