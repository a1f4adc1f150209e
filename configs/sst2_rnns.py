"""Exercise 002 §11.2.3 (implement the LSTM unit; LSTM vs a simple RNN on sentiment): SST-2
with the four recurrent classifiers of dlcore.nn.recurrent, same embeddings, sizes, optimizer
and epochs (configs/defaults/text_classification.py): simple RNN (tanh, LAY-38), LSTM (LAY-39),
GRU (LAY-40, the seed's convention) and a bidirectional LSTM (LAY-41). One command trains them
in <workdir>/<variant>/ and writes comparison.md (dev accuracy of each, best state restored) and
plots/compare_*.png (training and dev curves overlaid).

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/sst2_rnns.py --workdir runs/sst2_rnns
Expected: see README (the simple RNN trails the gated cells).
Time:     see README.
Curriculum: LAY-38..41, ARC-17..20; exercise 002 §11.2.3.
"""

import ml_collections

from configs.defaults import comparison, text_classification

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(text_classification.get_config())
  c.name = "sst2_rnns"
  c.title = "SST-2: simple RNN vs LSTM vs GRU vs BiLSTM (exercise 002 §11.2.3)"
  c.train.update(num_epochs=3, eval_every=350)
  c.variants = D({
      "rnn": D(dict(model=D(dict(cell="rnn")))),
      "lstm": D(dict(model=D(dict(cell="lstm")))),
      "gru": D(dict(model=D(dict(cell="gru")))),
      "bilstm": D(dict(model=D(dict(cell="lstm", bidirectional=True)))),
  })
  return c
