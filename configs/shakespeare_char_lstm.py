"""Character-level language model on Tiny Shakespeare (ARC-17/18/19, LAY-38..43): a 1-layer
recurrent network of 512 units over 64-d character embeddings, truncated BPTT over 100
characters with the state carried across batches, Adam 2e-3 with a cosine decay, gradient norm
clipped at 5. `--config.model.cell=rnn|lstm|gru` picks the cell.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/shakespeare_char_lstm.py --workdir runs/shakespeare_char_lstm
Expected: validation nats per character (every character of the last 10% of the text, state
          carried through it) 1.488 (perplexity 4.43, next-character accuracy 0.562); target
          ≤ 1.55. 1.55 is passed at step 1000, 1.51 at 1500. `cell=gru`: 1.569 at the end, best
          1.528 at step 1000 (it overfits after that); `cell=rnn` with num_steps=1500: 1.655.
Time:     18 min 9 s (1089 s) for the whole command on the idle 2-core CPU (2.7-2.9 steps/s,
          6 evaluations of the 111,540 validation characters included); 66 min 44 s while 3-4
          other trainings shared the cores.
Curriculum: ARC-17, LAY-38..43, MET-12.
"""

import ml_collections

from configs.defaults import language_model


def get_config() -> ml_collections.ConfigDict:
  c = language_model.get_config()
  c.name = "shakespeare_char_lstm"
  return c
