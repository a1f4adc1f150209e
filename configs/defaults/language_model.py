"""Default of language modelling (`experiment='language_model'`, experiments/language_model.py):
a character-level LSTM language model on Tiny Shakespeare, trained with truncated BPTT.

Sections:
  name, experiment, seed
  data:      name ('tinyshakespeare' or 'text' with path), data_dir, tokenizer (char/word/bpe),
             min_freq, bpe_vocab_size, train_fraction (0.9: the standard contiguous 90/10
             split), seq_len (the BPTT length L)
  model:     name='rnn_lm': embed_dim, cell (rnn/lstm/gru), hidden, num_layers, dropout_rate,
             forget_bias, activation (σ_h of the simple RNN), output_activation (σ_y)
  optimizer: Adam with gradient clipping by global norm (BPTT, LAY-43)
  train:     batch_size (parallel streams B), num_steps / num_epochs, log_every, eval_every,
             checkpoint_every, max_checkpoints, progress, overwrite
  eval:      batch_size (streams of the held-out split)
  early_stopping: the validation nats per token (tracked; patience 0 never stops)
  mesh:      num_devices
"""

import ml_collections

from configs.defaults import D, family
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  return family(
      "language_model",
      data=D(dict(name="tinyshakespeare", data_dir="", path="", tokenizer="char", min_freq=1,
                  bpe_vocab_size=8000, train_fraction=0.9, seq_len=100)),
      model=D(dict(name="rnn_lm", embed_dim=64, cell="lstm", hidden=512, num_layers=1,
                   dropout_rate=0.0, forget_bias=1.0, activation="tanh",
                   output_activation="identity")),
      optimizer=optimizer_config("adam", 2e-3, schedule="cosine", grad_clip_norm=5.0,
                                 weight_decay=0.0),
      train=dict(num_steps=3000, eval_every=500, max_checkpoints=2),
      eval=D(dict(batch_size=64)), watch=("nats_per_token", "min"))
