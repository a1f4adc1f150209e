"""Exercise 002 §11.2.7 as one command: the loss-function comparisons of the curriculum.

Runs, each in <workdir>/<part>/ with its own plots and comparison.md, then writes
<workdir>/report.md with all their tables:
  regression: MSE vs MAE vs Huber with outliers  (configs/regression_losses.py)
  imbalanced: CE vs focal vs their weighted sum, per-class recall and macro F1
              (configs/imbalanced_focal.py)
  retrieval:  triplet loss for image retrieval on MNIST, recall@1/@5 (configs/mnist_triplet.py)

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/loss_functions.py --workdir runs/loss_functions
Expected: the figures of the three configs (README "Exercise findings").
Time:     about 3.5 min on the reference 2-core CPU (13 s + 35 s + 2 min 39 s).
"""

import ml_collections

from configs.defaults import suite


def get_config() -> ml_collections.ConfigDict:
  c = suite.get_config()
  c.name = "loss_functions"
  c.title = "Exercise 11.2.7: loss functions"
  c.runs = ml_collections.ConfigDict(dict(
      regression="configs/regression_losses.py", imbalanced="configs/imbalanced_focal.py",
      retrieval="configs/mnist_triplet.py"))
  return c
