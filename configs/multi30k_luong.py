"""Multi30k de->en translation with Luong (multiplicative) attention (LAY-28; §0 item 11):
score 'general' e_ij = sᵀ W_a h_j (`model.luong_score='dot'`: sᵀ h_j, which needs
dec_hidden = 2 x hidden) with s = s_(i-1) as the seed writes it (`model.attention_index='prev'`)
or s = s_i as in Luong et al. 2015 (`'current'`, then h̃_i = tanh(W_c [c_i ; s_i]) feeds the
output layer). Same encoder, sizes and training as configs/multi30k_bahdanau.py.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/multi30k_luong.py --workdir runs/multi30k_luong
          (add --config.model.attention_index=current for the paper's index)
Expected: test_2016_flickr BLEU (lowercased word tokens) 37.11 greedy, 38.29 beam 5; sacreBLEU
          (13a, lowercased) 34.89 greedy, 37.56 beam; mean output log-probability -7.06
          greedy, -6.11 beam; test perplexity 5.77. Target: BLEU >= 27. (Index 'prev'.)
Time:     57 min 7 s for 10 epochs while 2-3 other trainings and the test suite shared the 2
          cores.
Curriculum: LAY-28, LAY-40, LAY-41, ARC-21, GEN-1, GEN-3, GEN-6, MET-13.
"""

import ml_collections

from configs.defaults import translation


def get_config() -> ml_collections.ConfigDict:
  c = translation.get_config()
  c.name = "multi30k_luong"
  c.model.update(attention="luong", luong_score="general", attention_index="prev")
  return c
