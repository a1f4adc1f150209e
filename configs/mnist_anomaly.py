"""Anomaly detection by reconstruction error (ARC-29's use; ARC-30, ARC-31): the three
autoencoders of configs/mnist_autoencoder.py (plain, denoising, sparse; same sizes and training)
trained on MNIST without the digit 7 (`data.exclude_digit=7`: 53,735 training images), then
every test image (all 10 digits, 1,028 of them 7s) is scored by its reconstruction error
||x − x̂||²; the table reports the ROC AUC of "is a 7" by that score (`roc_auc`, MET-7; 1 = every
7 reconstructs worse than every other digit, 0.5 = chance) and the mean scores of the two groups.
The raw error also grows with the ink of a digit, so the AUC of a held-out digit mixes novelty
with stroke mass (a held-out 1 would score low whatever the model learned).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_anomaly.py --workdir runs/mnist_anomaly
Expected: ROC AUC of the held-out 7s vs the other 8,972 test images: plain 0.655, sparse 0.599,
          denoising 0.567 (mean error of the 7s vs the rest: plain 8.78 vs 6.64, sparse 13.53 vs
          11.46, denoising 13.02 vs 11.78). Better than chance but weak: the 7 is a thin digit,
          so its raw error stays close to the others'. 2,095 steps per variant (5 epochs).
Time:     2 min 12 s wall for the three variants (37-46 s each) on the 2-core CPU, under the
          CPU lock.
Curriculum: ARC-29, ARC-30, ARC-31, MET-7.
"""

import ml_collections

from configs import mnist_autoencoder

D = ml_collections.ConfigDict
HELD_OUT = 7


def get_config() -> ml_collections.ConfigDict:
  c = mnist_autoencoder.get_config()
  c.name = "mnist_anomaly"
  c.title = f"MNIST anomaly detection: autoencoders trained without the digit {HELD_OUT}"
  c.data.exclude_digit = HELD_OUT
  c.evals.anomaly = D(dict(type="anomaly", split="test", event="test"))
  del c.evals.traversal
  c.metrics = ("roc_auc", "score_held_out", "score_others")
  return c
