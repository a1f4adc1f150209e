"""SST-2 sentiment with an LSTM (ARC-18, LAY-39; exercise 002 §11.2.3), from scratch: word
embeddings (300-d, trained, no pretrained vectors) -> 1-layer LSTM (256) -> final state at the
true last step -> linear -> 2 logits; dropout 0.5 on the embeddings and before the output;
Adam 1e-3, gradient norm clipped at 1, 3 epochs.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/sst2_lstm.py --workdir runs/sst2_lstm
Expected: dev accuracy 0.8417 (the best of 9 evaluations every 350 steps, restored; the same
          settings as the 'lstm' variant of configs/sst2_rnns.py, where it was measured).
          The issue's target of 0.85 is not reached: training accuracy is 0.95 after two
          epochs and the dev accuracy stays at 0.82-0.84.
Time:     10 min 53 s (3 epochs, 3,147 steps of 64) while 2-3 other trainings shared the 2
          cores.
Curriculum: LAY-23, LAY-39, LAY-42, ARC-18, GEN-5.
"""

import ml_collections

from configs.defaults import text_classification


def get_config() -> ml_collections.ConfigDict:
  c = text_classification.get_config()
  c.name = "sst2_lstm"
  c.train.update(num_epochs=3, eval_every=350)
  return c
