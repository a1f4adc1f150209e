"""Exercise 002 §11.2.3 (implement the LSTM unit; LSTM vs a simple RNN on sentiment): SST-2
with the four recurrent classifiers of dlcore.nn.recurrent, same embeddings, sizes, optimizer
and epochs (those of configs/sst2_lstm.py): simple RNN (tanh, LAY-38), LSTM (LAY-39),
GRU (LAY-40, the seed's convention) and a bidirectional LSTM (LAY-41). One command trains them
in <workdir>/<variant>/ and writes comparison.md (dev accuracy of each, best state restored) and
plots/compare_*.png (training and dev curves overlaid).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/sst2_rnns.py --workdir runs/sst2_rnns
Expected: dev accuracy (best of the 9 evaluations, restored): GRU 0.8452, LSTM 0.8417, BiLSTM
          0.8268, simple RNN 0.8108. Every gated cell reaches 0.95 training accuracy in two
          epochs (overfitting); the simple RNN trains slower (0.93) and is least stable on dev.
Time:     42 min 3 s for the four (514 s rnn, 559 s gru, 653 s lstm, 797 s bilstm) while 2-3
          other trainings shared the 2 cores.
Curriculum: LAY-38..41, ARC-17..20; exercise 002 §11.2.3.
"""

import ml_collections

from configs import sst2_lstm
from configs.defaults import comparison

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(sst2_lstm.get_config())  # the 'lstm' variant is sst2_lstm
  c.name = "sst2_rnns"
  c.title = "SST-2: simple RNN vs LSTM vs GRU vs BiLSTM (exercise 002 §11.2.3)"
  c.variants = D({
      "rnn": D(dict(model=D(dict(cell="rnn")))),
      "lstm": D(dict(model=D(dict(cell="lstm")))),
      "gru": D(dict(model=D(dict(cell="gru")))),
      "bilstm": D(dict(model=D(dict(cell="lstm", bidirectional=True)))),
  })
  return c
