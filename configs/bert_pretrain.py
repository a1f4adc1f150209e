"""BERT pretraining on the local English text (ARC-23, TL-1, LOSS-21): the SST-2 training
sentences, the English side of Multi30k's training pairs and Tiny Shakespeare's speeches, as
lowercased words (vocabulary of 8,000, tokens seen at least twice); examples of up to 48
tokens, [CLS] A [SEP] B [SEP] for consecutive sentences (half with a random B: NSP), single
sentences otherwise; 15% of the ordinary tokens masked anew at every step (80% [MASK], 10%
random, 10% kept). A 4-layer post-LN encoder, d_model 128, 4 heads, GELU, dropout 0.1; AdamW
1e-3 with 300 warm-up steps then cosine, batches of 128, 3,000 steps.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/bert_pretrain.py --workdir runs/bert_pretrain
Expected: not yet measured to the end (the fine-tuning comparison configs/sst2_bert.py reads
          this run's workdir); the validation MLM accuracy and NSP accuracy are its figures. A
          first run stopped at step 900: MLM loss 8.55 → 6.32 (accuracy 0.076, still near the
          unigram plateau), NSP accuracy 0.60 → 0.85 (step 500, validation).
Time:     about 0.5 steps/s on the shared 2-core CPU (3,000 steps ≈ 100 min); not yet measured
          alone.
Curriculum: ARC-23, TL-1, LOSS-21.
"""

import ml_collections

from configs.defaults import pretraining


def get_config() -> ml_collections.ConfigDict:
  c = pretraining.get_config()
  c.name = "bert_pretrain"
  return c
