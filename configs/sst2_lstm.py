"""SST-2 sentiment with an LSTM (ARC-18, LAY-39; exercise 002 §11.2.3), from scratch: word
embeddings (300-d, trained, no pretrained vectors) -> 1-layer LSTM (256) -> final state at the
true last step -> linear -> 2 logits; dropout 0.5 on the embeddings and before the output.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/sst2_lstm.py --workdir runs/sst2_lstm
Expected: dev accuracy (best of the periodic evaluations, restored) see README.
Time:     see README.
Curriculum: LAY-23, LAY-39, LAY-42, ARC-18, GEN-5.
"""

import ml_collections

from configs.defaults import text_classification


def get_config() -> ml_collections.ConfigDict:
  c = text_classification.get_config()
  c.name = "sst2_lstm"
  c.train.update(num_epochs=6, eval_every=350)
  return c
