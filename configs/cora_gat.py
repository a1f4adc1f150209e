"""GAT on Cora (Veličković et al. 2018): the standard Planetoid split, row-normalised
features; 8 attention heads x 8 units (ELU) then one output head, dropout 0.6 on every layer's
input, on the attention coefficients and on the transformed features; Adam 0.005 with L2 5e-4;
up to 1,000 epochs, the validation loss evaluated every 5 epochs, stopping after 100 epochs (20
evaluations) without a lower one and testing the state of the lowest one (the paper's patience
of 100 epochs, on the loss alone).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/cora_gat.py --workdir runs/cora_gat
          (10 seeds: python -m benchmarks.cora_seeds --config configs/cora_gat.py)
Expected: test accuracy 0.8343 ± 0.0060 over seeds 0-9 (min 0.825, max 0.844); the GAT paper
          reports 0.830 ± 0.007.
Time:     40 s per run on the 2-core CPU (35-44 s), compilation included, without
          the t-SNE picture (the benchmark draws it for the first seed only).
Curriculum: ARC-44, LAY-44.
"""

import ml_collections

from configs.defaults import graph


def get_config() -> ml_collections.ConfigDict:
  c = graph.get_config()
  c.name = "cora_gat"
  c.model = ml_collections.ConfigDict(dict(name="gat", hidden=8, num_heads=8, output_heads=1,
                                           dropout_rate=0.6, attention_dropout=0.6))
  c.optimizer.learning_rate = 0.005
  c.train.num_epochs = 1000
  c.evals.eval.every = 5
  c.early_stopping.update(patience=20, restore_best=True)
  return c
