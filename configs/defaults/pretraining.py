"""Default of BERT pretraining (`experiment='pretraining'`, experiments/pretraining.py): masked
language modelling + next-sentence prediction on the local English text.

Sections:
  name, experiment, seed
  data:      data_dir, sources (sst2, multi30k, tinyshakespeare), tokenizer ('word', as SST-2),
             min_freq, max_vocab, max_len (tokens per example), mask_rate (0.15),
             valid_fraction, shuffle_seed
  model:     name='bert': num_layers, num_heads, d_model, d_ff (0: 4 d_model), max_len,
             dropout_rate; vocab_size is set from the vocabulary
  optimizer: AdamW, 300 warm-up steps then cosine decay, clipping at 1
  train:     batch_size, num_steps / num_epochs, log_every, eval_every, checkpoint_every, ...
  eval:      batch_size
  early_stopping: the validation MLM loss (tracked)
  mesh:      num_devices
"""

import ml_collections

from configs.defaults import D, family
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = family("pretraining", train=dict(num_steps=3000, eval_every=500),
             eval=D(dict(batch_size=256)), watch=("mlm_loss", "min"))
  c.data = D(dict(data_dir="", sources=("sst2", "multi30k", "tinyshakespeare"), tokenizer="word",
                  min_freq=2, max_vocab=8000, max_len=48, mask_rate=0.15, valid_fraction=0.01,
                  shuffle_seed=0))
  c.model = D(dict(name="bert", num_layers=4, num_heads=4, d_model=128, d_ff=0, max_len=48,
                   dropout_rate=0.1, remat=False))
  c.optimizer = optimizer_config("adamw", 1e-3, schedule="warmup_cosine", grad_clip_norm=1.0,
                                 weight_decay=0.01, b2=0.98)
  c.optimizer.schedule.warmup_steps = 300
  c.train.batch_size = 128
  return c
