"""MAML on sinusoid regression (ARC-49; Finn et al. 2017 §5.1): second-order MAML, first-order
MAML and the pretrained baseline (one network regressing all tasks jointly), then each
fine-tuned by SGD (lr 0.01) on K = 10 points of 1,000 new sinusoids; comparison.md lists the
query MSE after 0, 1 and 10 steps, and pretrain/plots/test.png draws the three curves (MSE vs
gradient steps 0..10).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/sinusoid_maml.py --workdir runs/sinusoid_maml
Expected: query MSE on 1,000 new sinusoids after 0 / 1 / 10 SGD steps on K = 10 points (20,000
          meta-steps of 25 tasks each; step size chosen on 1,000 validation sinusoids):
          MAML 3.101 / 0.483 / 0.148 (lr 0.01), first-order MAML 4.619 / 0.775 / 0.226
          (lr 0.01), pretrained baseline 3.089 / 2.571 / 1.884 (lr 0.003; 0.01 diverges):
          MAML after 10 shots is 12.7x lower than the baseline; all 11 points of each curve
          are in <variant>/adaptation.json.
Time:     3 min 41 s for the three (42 s fomaml, 53 s maml, 33 s pretrain, ~1,000 steps/s,
          with the 2 cores shared with another helper's tests).
Curriculum: ARC-49; 003 §VI.4.
"""

import ml_collections

from configs.defaults import comparison, meta

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(meta.get_config())
  c.name = "sinusoid_maml"
  c.title = "Sinusoid regression: MAML vs first-order MAML vs pretrained baseline (K = 10)"
  c.metrics = ("mse_0", "mse_1", "mse_10", "lr")
  c.variants = D({  # alphabetical order: 'pretrain' runs last and draws all three curves
      "fomaml": D(dict(meta=D(dict(first_order=True)))),
      "maml": D(dict()),
      "pretrain": D(dict(meta=D(dict(method="pretrain")),
                         evals=D(dict(test=D(dict(compare=("fomaml", "maml"))))))),
  })
  return c
