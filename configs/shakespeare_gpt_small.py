"""A small GPT on Tiny Shakespeare characters (ARC-24, LOSS-22, GEN-4): nanoGPT's CPU "baby
GPT", 4 pre-LN layers of 4 heads, d_model 128, context 64, dropout 0, tied embeddings;
windows of 64 characters in a random order, batches of 12, AdamW 1e-3 (β2 0.99, weight decay
0.1), 100 warm-up steps then cosine to 1e-4, clip 1, 2000 steps.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/shakespeare_gpt_small.py --workdir runs/shakespeare_gpt_small
Expected: validation nats per character (every character of the last 10%, scored in windows
          of 64) ≤ 1.88 (nanoGPT's figure for this model); measured 1.795.
Time:     2 min 0 s on the idle 2-core CPU (about 21 steps/s; target ≤ 5 min).
Curriculum: ARC-24, LAY-25, LAY-29..35, LOSS-22, GEN-1..4.
"""

import ml_collections

from configs.defaults import language_model


def get_config() -> ml_collections.ConfigDict:
  c = language_model.get_config()
  language_model.use_gpt(c, context=64)
  c.name = "shakespeare_gpt_small"
  c.train.update(batch_size=12, num_steps=2000)
  return c
