"""GCN on Cora (ARC-44, LAY-45; Kipf & Welling 2017): the standard Planetoid split (140 train /
500 val / 1,000 test nodes), row-normalised bag-of-words features, 2 GCN layers (16 hidden,
ReLU, dropout 0.5 on the input and hidden), Adam 0.01 with L2 5e-4 on the first layer's weights
only (as their code: `weight_decay_mask='re:^conv_0/'`), 200 full-batch epochs, the final state
tested.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/cora_gcn.py --workdir runs/cora_gcn
          (10 seeds: python -m benchmarks.cora_seeds --config configs/cora_gcn.py)
Expected: test accuracy 0.8150 ± 0.0057 over seeds 0-9 (min 0.803, max 0.822); Kipf & Welling
          report 0.815. With L2 on both layers ('no_bias'): 0.8141 ± 0.0064.
Time:     8.1 s per run on the 2-core CPU, compilation included (~120 steps/s), without
          the t-SNE picture (the benchmark draws it for the first seed only); a single run with
          it took 93 s (GCN) on the machine shared with four other jobs.
Curriculum: ARC-44, LAY-44, LAY-45.
"""

import ml_collections

from configs.defaults import graph


def get_config() -> ml_collections.ConfigDict:
  c = graph.get_config()
  c.name = "cora_gcn"
  c.optimizer.weight_decay_mask = "re:^conv_0/"
  return c
