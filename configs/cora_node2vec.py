"""node2vec on Cora (ARC-42; Grover & Leskovec 2016): second-order random walks with return
parameter p = 1 and in-out parameter q = 0.5 (q < 1 leans the walks outward, DFS-like, which
favours the community structure that Cora's classes follow), otherwise DeepWalk's setting
(`configs/cora_deepwalk.py`: 40-step walks, window 10, 128-d skip-gram with 5 negatives, 10
epochs of one walk per node), then the logistic-regression probe on the standard Planetoid
split.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/cora_node2vec.py --workdir runs/cora_node2vec
          (10 seeds: python -m benchmarks.cora_seeds --config configs/cora_node2vec.py)
Expected: probe test accuracy 0.7158 ± 0.0130 over seeds 0-9 (min 0.686, max 0.732); with
          window 5: q = 0.5 0.714, p = 4, q = 0.5 0.702 (2 seeds each).
Time:     36 s per run with one other job on the machine (2-seed check); 115 s mean over the
          10 seeds while four other jobs shared the 2 cores.
Curriculum: ARC-42, ARC-39, ARC-43.
"""

import ml_collections

from configs.defaults import graph


def get_config() -> ml_collections.ConfigDict:
  c = graph.get_config("walks")
  c.name = "cora_node2vec"
  c.walks.update(p=1.0, q=0.5)
  return c
