"""Multi30k de->en translation with Bahdanau (additive) attention (LAY-27, ARC-21, GEN-6;
exercise 002 §11.2.4): bidirectional GRU encoder (256 per direction), GRU decoder (256) with
e_ij = v_aᵀ tanh(W_a h_j + U_a s_(i-1)), teacher forcing, greedy and beam-5 decoding, BLEU on
test_2016_flickr, attention heatmaps in <workdir>/attention/.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/multi30k_bahdanau.py --workdir runs/multi30k_bahdanau
Expected: test_2016_flickr BLEU (lowercased word tokens) 37.72 greedy, 38.85 beam 5;
          sacreBLEU (13a, lowercased; nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0)
          35.75 greedy, 37.90 beam; mean output log-probability -6.39 greedy, -5.69 beam;
          test perplexity 5.54 (teacher forced). Target: BLEU >= 27.
Time:     54 min 31 s for 10 epochs (4,500 steps of 64 pairs) while 2-3 other trainings shared
          the 2 cores, evaluation and decoding included.
Curriculum: LAY-27, LAY-40, LAY-41, ARC-21, GEN-1, GEN-3, GEN-6, MET-13.
"""

import ml_collections

from configs.defaults import translation


def get_config() -> ml_collections.ConfigDict:
  c = translation.get_config()
  c.name = "multi30k_bahdanau"
  return c
