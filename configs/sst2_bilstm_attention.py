"""SST-2 sentiment with a BiLSTM and attention pooling (ARC-19, LAY-27; the recipe of the flax
`sst2` example), from scratch: 300-d word embeddings (trained, no pretrained vectors), word
dropout 0.1 (tokens replaced by <unk> in training), a bidirectional LSTM 2x256, attention
pooling over the time steps, dropout 0.5, SGD with momentum 0.9 at 0.1 and L2 3e-6, gradient
norm clipped at 1, 10 epochs of 64, the dev set evaluated every 350 steps and the best state
restored.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/sst2_bilstm_attention.py --workdir runs/sst2_bilstm_attention
Expected: dev accuracy 0.8509 (872 sentences; the best of 30 evaluations, at step 9,800; the
          others 0.82-0.846, the last 0.834): the issue's target of 0.85 is reached by this one
          evaluation. The Adam-trained cells of sst2_rnns reach 0.8452 (GRU).
Time:     22 min on the 2-core CPU while a MinAtar PPO training shared it (10,490 steps at
          about 8 steps/s).
Curriculum: LAY-23, LAY-27, LAY-39, ARC-19, REG-3.
"""

import ml_collections

from configs import sst2_lstm


def get_config() -> ml_collections.ConfigDict:
  c = sst2_lstm.get_config()
  c.name = "sst2_bilstm_attention"
  c.model.update(bidirectional=True, readout="attention", word_dropout=0.1)
  c.optimizer.update(name="momentum", learning_rate=0.1, momentum=0.9, l2_coupled=3e-6)
  c.train.num_epochs = 10
  return c
