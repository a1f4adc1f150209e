"""Multi30k de->en translation with a GRU encoder-decoder WITHOUT attention (ARC-21, Cho et al.
2014; 000 §3.5.2): the decoder sees only the fixed vector c = [→h_S ; ←h_1] of the bidirectional
GRU encoder at every step (the bottleneck attention removes). Same sizes and training as
configs/multi30k_bahdanau.py.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/multi30k_gru.py --workdir runs/multi30k_gru
Expected: test_2016_flickr BLEU (lowercased word tokens) 25.82 greedy, 26.82 beam 5; sacreBLEU
          (13a, lowercased) 24.45 greedy, 26.68 beam; mean output log-probability -10.37
          greedy, -8.89 beam; test perplexity 7.70 (Bahdanau: 5.54). Target: BLEU >= 18.
Time:     48 min 16 s for 10 epochs, 10 min of which the process was stopped, while other
          trainings and the test suite shared the 2 cores.
Curriculum: LAY-40, LAY-41, ARC-19, ARC-21, GEN-1, GEN-3, MET-13.
"""

import ml_collections

from configs.defaults import translation


def get_config() -> ml_collections.ConfigDict:
  c = translation.get_config()
  c.name = "multi30k_gru"
  c.model.attention = "none"
  return c
