"""The Transformer at the paper's base size (ARC-22; Vaswani et al. 2017) on Multi30k de->en,
for users with an accelerator: N = 6 encoder and 6 decoder layers, d_model 512, 8 heads
(d_k = d_v = 64), d_ff 2048, post-LN, ReLU, sinusoidal positions, dropout 0.1 (44M
parameters in the layers, 54M with vocabularies of 8,000 and 6,000); label smoothing 0.1,
Adam (β2 0.98) 3e-4 with 4,000 warm-up steps then cosine, batches of 128, 20 epochs. The
tests trace it with `jax.eval_shape` only.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/transformer_base.py --workdir runs/transformer_base
Expected: not measured here (no accelerator in this project's CI). On Multi30k a model of this
          size overfits without more regularisation; expect BLEU in the range of
          configs/multi30k_transformer.py (≥ 35) rather than above it.
Time:     not measured: no accelerator was lent to this project's sessions so far; on the
          2-core CPU an epoch would take hours.
Curriculum: ARC-22, LAY-24, LAY-29..37.
"""

import ml_collections

from configs import multi30k_transformer


def get_config() -> ml_collections.ConfigDict:
  c = multi30k_transformer.get_config()
  c.name = "transformer_base"
  c.model.update(num_layers=6, num_heads=8, d_model=512, d_ff=2048, dropout_rate=0.1)
  c.optimizer.learning_rate = 3e-4
  c.optimizer.schedule.warmup_steps = 4000
  c.train.num_epochs = 20
  return c
