"""Default of translation (`experiment='translation'`, experiments/translation.py): a seq2seq
GRU encoder-decoder with Bahdanau attention on Multi30k de->en.

Sections:
  name, experiment, seed
  data:      name ('multi30k'; 'text_to_text' for T5's prefixed tasks, which adds tasks and
             max_examples_per_task), data_dir, src, tgt, min_freq, max_vocab, max_length
             (tokens per sentence), truncate, buckets (batch pairs of similar length)
  model:     name='seq2seq': embed_dim, hidden (encoder units per direction), dec_hidden,
             attention (none/bahdanau/luong), luong_score (dot/general), attention_index
             (prev: s_(i-1) as in the seed; current: s_i as in Luong et al.), attention_dim,
             readout_dim, dropout_rate
  loss:      label_smoothing (the training objective only; the reported loss and
             perplexity are the plain negative log-likelihood)
  optimizer: Adam, gradient norm clipped at 1 (BPTT, LAY-43)
  train:     batch_size, num_epochs / num_steps, log_every, eval_every, checkpoint_every, ...
  eval:      batch_size
  early_stopping: the validation loss (tracked, best state restored for the final evaluation)
  mesh:      num_devices
"""

import ml_collections

from configs.defaults import D, family
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = family("translation", train=dict(num_epochs=10), eval=D(dict(batch_size=200)),
             watch=("loss", "min"), restore_best=True)
  c.data = D(dict(name="multi30k", data_dir="", src="de", tgt="en", min_freq=2, max_vocab=0,
                  max_length=60, truncate=False, buckets=(12, 16, 20, 24, 32, 48, 61)))
  c.model = D(dict(name="seq2seq", embed_dim=256, hidden=256, dec_hidden=256,
                   attention="bahdanau", luong_score="general", attention_index="prev",
                   attention_dim=256, readout_dim=256, dropout_rate=0.3))
  c.loss = D(dict(label_smoothing=0.0))
  c.optimizer = optimizer_config("adam", 1e-3, schedule="cosine", grad_clip_norm=1.0,
                                 weight_decay=0.0)
  return c
