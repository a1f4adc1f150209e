"""Default of language modelling (`experiment='language_model'`, experiments/language_model.py):
a character-level LSTM language model on Tiny Shakespeare, trained with truncated BPTT.

Sections:
  name, experiment, seed
  data:      name ('tinyshakespeare' or 'text' with path), data_dir, tokenizer (char/word/bpe),
             min_freq, bpe_vocab_size, train_fraction (0.9: the standard contiguous 90/10
             split), seq_len (the BPTT length L)
  model:     name='rnn_lm': embed_dim, cell (rnn/lstm/gru), hidden, num_layers, dropout_rate,
             forget_bias, activation (σ_h of the simple RNN), output_activation (σ_y);
             or name='gpt' (`use_gpt`): num_layers, num_heads, d_model, d_ff, max_len,
             dropout_rate, positions, pre_ln, activation, tie_embeddings
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
                  bpe_vocab_size=8000, train_fraction=0.9, seq_len=100, shuffle=False)),
      model=D(dict(name="rnn_lm", embed_dim=64, cell="lstm", hidden=512, num_layers=1,
                   dropout_rate=0.0, forget_bias=1.0, activation="tanh",
                   output_activation="identity")),
      optimizer=optimizer_config("adam", 2e-3, schedule="cosine", grad_clip_norm=5.0,
                                 weight_decay=0.0),
      train=dict(num_steps=3000, eval_every=500, max_checkpoints=2),
      eval=D(dict(batch_size=64)), watch=("nats_per_token", "min"))


def use_gpt(c: ml_collections.ConfigDict, context: int, eval_every: int = 500,
            sample: tuple[int, int] = (16, 48), **model) -> ml_collections.ConfigDict:
  """Switch `c` to the GPT model (ARC-24) over windows of `context` tokens in a random order,
  AdamW with warm-up and cosine decay to a tenth (nanoGPT's recipe); `model` overrides.
  Evaluations: the validation nats per token every `eval_every` steps and at the end, samples
  of `sample` = (prompt, new) tokens at temperature 0.8 and greedy, and the attention heatmaps
  of the last layer over 40 tokens."""
  c.model = D(dict(name="gpt", num_layers=4, num_heads=4, d_model=128, d_ff=0, max_len=context,
                   dropout_rate=0.0, positions="learned", pre_ln=True, activation="gelu",
                   tie_embeddings=True, dtype="float32", remat=False))
  c.model.update(model)
  c.data.update(seq_len=context, shuffle=True)
  c.optimizer = optimizer_config("adamw", 1e-3, schedule="warmup_cosine", grad_clip_norm=1.0,
                                 weight_decay=0.1, b2=0.99)
  c.optimizer.schedule.update(warmup_steps=100, alpha=0.1)
  c.train.eval_every = eval_every
  c.evals = D({
      "eval": dict(type="nll", split="valid", every=eval_every, at_end=False),
      "test": dict(type="nll", split="valid", at_end=True),
      "generate": dict(type="generate", split="valid", num_prompts=8, prompt_length=sample[0],
                       length=sample[1], temperatures=(0.8,), beam_size=0, samples=4,
                       at_end=True),
      "heads": dict(type="attention", split="valid", length=40, at_end=True)})
  return c
