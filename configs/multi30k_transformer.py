"""Multi30k de->en with the Transformer encoder-decoder (ARC-22; LAY-24, 29..37): the seed's
post-LN layers with ReLU FFNs, sinusoidal positions and embeddings x √d_model, sized for the
CPU: N = 3 encoder and 3 decoder layers, d_model 256, 8 heads (d_k 32), d_ff 512, dropout 0.1
(about 9M parameters, the size of the anchor). Label smoothing 0.1, Adam 5e-4 (β2 0.98) with
1 warm-up epoch then cosine decay, clip 1, batches of 128, 15 epochs; the best validation
state is restored.

The paper's base size (N = 6, d_model 512, 8 heads, d_ff 2048) is configs/transformer_base.py,
the GPU-size variant.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/multi30k_transformer.py --workdir runs/multi30k_transformer
Expected: test_2016_flickr BLEU (lowercased word tokens, as the recurrent configs) ≥ 35; the
          anchor is a 9M-parameter Transformer at 36.5 after 10 GPU epochs. Measured: 35.59
          greedy, 35.62 beam 5 (sacreBLEU 33.93 / 35.45); validation perplexity 5.56.
Time:     80 min 52 s on the 2-core CPU with the test suite sharing it for about 30 min (59 min
          of training in a less shared run); target ≤ 90 min.
Curriculum: ARC-22, LAY-24, LAY-29..37, GEN-1, GEN-3, MET-13.
"""

import ml_collections

from configs.defaults import D, translation
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = translation.get_config()
  c.name = "multi30k_transformer"
  c.model = D(dict(name="transformer", num_layers=3, num_heads=8, d_model=256, d_ff=512,
                   max_len=128, dropout_rate=0.1, positions="sinusoidal", pre_ln=False,
                   activation="relu", remat=False))
  c.loss.label_smoothing = 0.1
  c.optimizer = optimizer_config("adam", 5e-4, schedule="warmup_cosine", grad_clip_norm=1.0,
                                 weight_decay=0.0, b2=0.98)
  c.optimizer.schedule.warmup_steps = 227
  c.train.batch_size = 128
  c.train.num_epochs = 15
  return c
