"""GPT on Tiny Shakespeare characters (ARC-24, LOSS-22, GEN-1..4), sized for the 2-core CPU:
4 pre-LN layers of 4 heads (d_k 64), d_model 256, d_ff 1024, context 128, dropout 0.1, tied
embeddings (3.2M parameters); windows of 128 characters in a random order, batches of 32,
AdamW 1e-3 (β2 0.99, weight decay 0.1), 100 warm-up steps then cosine to 1e-4, clip 1, 2500
steps (8.2M characters, about 8 epochs). nanoGPT's GPU config (6 layers, d_model 384,
context 256, batch 64, dropout 0.2, 5000 steps; 10.7M parameters) reaches 1.47:
`--config.model.num_layers=6 --config.model.num_heads=6 --config.model.d_model=384
--config.model.max_len=256 --config.data.seq_len=256 --config.train.batch_size=64
--config.model.dropout_rate=0.2 --config.train.num_steps=5000` is that run, for a GPU.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/shakespeare_gpt.py --workdir runs/shakespeare_gpt
Expected: validation nats per character (every character of the last 10%, scored in windows
          of 128) ≤ 1.55; measured 1.5498 (1.924 / 1.701 / 1.606 / 1.565 at steps 500-2000).
Time:     44 min 24 s (about 1.1 steps/s alone; the first 10 min shared with an Atari run);
          target ≤ 60 min.
Curriculum: ARC-24, LAY-25, LAY-29..35, LOSS-22, GEN-1..4, ROB-5.
"""

import ml_collections

from configs.defaults import language_model


def get_config() -> ml_collections.ConfigDict:
  c = language_model.get_config()
  language_model.use_gpt(c, context=128, sample=(27, 100),
                         num_layers=4, num_heads=4, d_model=256, dropout_rate=0.1)
  c.name = "shakespeare_gpt"
  c.train.update(batch_size=32, num_steps=2500)
  return c
