"""Project 002 §11.3 "text generation system": the character LSTM of
configs/shakespeare_char_lstm.py, then 16 held-out prompts (100 characters of the validation
text each) continued for 200 characters by greedy search (GEN-1), sampling at temperatures 0.5,
0.8 and 1.0 (GEN-2) and beam search with 5 beams (GEN-3). Each method is scored by the model's
log-probability per generated character, character BLEU-4 against the true continuation and
distinct-2; the samples go to <workdir>/generations.md. Validation perplexity comes from the
'test' evaluator (exp of nats per character).

The hyperparameter study (hidden size; temperature above) is
  for h in 128 256 512; do python -m launch.train --config configs/shakespeare_generation.py \
    --workdir runs/shakespeare_generation_h$h --config.model.hidden=$h; done
  python -m benchmarks.generation_study runs/shakespeare_generation_h*   (table + plot)

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/shakespeare_generation.py --workdir runs/shakespeare_generation
Expected: the model of configs/shakespeare_char_lstm.py (validation perplexity 4.43 = exp of
          1.488 nats/char). Log-probability per generated character: greedy -0.68, beam 5
          -0.43 (beam search finds likelier text), sampling -0.86 / -1.02 / -1.27 at T = 0.5 /
          0.8 / 1.0; distinct-2: greedy 0.079, beam 0.073 (both repeat themselves), sampling
          0.141 / 0.157 / 0.177; character BLEU-4 against the true continuation: greedy 0.211,
          beam 0.162, sampling 0.230 / 0.231 / 0.208. Samples in <workdir>/generations.md.
Time:     the training of configs/shakespeare_char_lstm.py (same model and steps: copying that
          workdir here reuses it, and only the final evaluators run: 30 s).
Curriculum: ARC-17/18, GEN-1..3, MET-12, MET-13; project 002 §11.3.
"""

import ml_collections

from configs.defaults import language_model

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = language_model.get_config()
  c.name = "shakespeare_generation"
  c.evals = D({
      "eval": D(dict(type="nll", split="valid", every=500, at_end=False)),
      "test": D(dict(type="nll", split="valid")),
      "generate": D(dict(type="generate", split="valid", num_prompts=16, prompt_length=100,
                         length=200, temperatures=(0.5, 0.8, 1.0), top_k=0, top_p=1.0,
                         beam_size=5, length_penalty=0.0, samples=3)),
  })
  return c
