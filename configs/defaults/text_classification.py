"""Default of text classification (`experiment='classification'` on token ids): a recurrent
classifier (`rnn_classifier`, dlcore/models/sequence/classifier.py) on SST-2 sentiment.

Sections: configs.defaults.classification's, with
  data:   name='sst2', tokenizer, min_freq, max_vocab, max_length, truncate, buckets (batch rows
          of similar length: each batch is cut to its bucket's bound), not flattened
  model:  name='rnn_classifier': embed_dim, cell (rnn/lstm/gru), hidden, num_layers,
          bidirectional, readout (last/max/mean/attention), dropout_rate, word_dropout (tokens
          replaced by <unk> in training), forget_bias,
          activation (σ_h of the simple RNN), output_activation (σ_y); vocab_size is set from
          the vocabulary
  eval:   the dev split (GLUE's SST-2 test split has no labels)
  optimizer: Adam with gradient clipping by global norm (BPTT, LAY-43)
  early_stopping: the dev accuracy, best state restored
"""

import ml_collections

from configs.defaults import classification
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = classification.get_config()
  c.name = "text_classification"
  c.data = classification.data_config("sst2", flatten=False, tokenizer="word", min_freq=1,
                                      max_vocab=0, max_length=64, truncate=False,
                                      buckets=(8, 16, 24, 32, 48, 64))
  c.model = ml_collections.ConfigDict(dict(
      name="rnn_classifier", embed_dim=300, cell="lstm", hidden=256, num_layers=1,
      bidirectional=False, readout="last", dropout_rate=0.5, word_dropout=0.0, forget_bias=1.0,
      activation="tanh", output_activation="identity"))
  c.optimizer = optimizer_config("adam", 1e-3, schedule="constant", grad_clip_norm=1.0,
                                 weight_decay=0.0)
  c.train.update(batch_size=64, num_epochs=6, log_every=200, max_checkpoints=1)
  c.eval.update(split="dev", test_split="dev", batch_size=128, reports=())
  c.early_stopping.update(metric="accuracy", mode="max", patience=0, restore_best=True)
  return c
