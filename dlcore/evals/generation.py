"""Text generation evaluator (project 002 §11.3; GEN-1..3, MET-12/13): continue held-out prompts
with greedy search, sampling at several temperatures (optionally top-k / top-p) and beam search,
then score every method the same way:

  logprob_per_token  mean log p_model(y_t | y_<t, prompt) of the generated tokens (the model's
                     own confidence; greedy/beam maximise it, sampling trades it for diversity)
  bleu               corpus BLEU-4 of the continuations against the true continuations of the
                     prompts, on the tokens the model generates (characters for a char model)
  distinct_2         distinct token bigrams / all bigrams of the generated text (diversity)

and write `<workdir>/generations.md` with the first few samples of every method.

The model is seen through `prime(state, prompts (N, P)) -> (carry, last prompt token (N,))`
and `step(state) -> step_fn` (the decoders' interface, `dlcore.decode`).
"""

from __future__ import annotations

import pathlib
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.decode import beam_search, greedy_decode, sample_decode
from dlcore.metrics.bleu import corpus_bleu


def method_names(temperatures: Sequence[float], beam_size: int) -> list[str]:
  return (["greedy"] + [f"sample_t{t:g}" for t in temperatures]
          + ([f"beam{beam_size}"] if beam_size > 1 else []))


def _decoder(name: str, length: int, top_k: int, top_p: float, beam_size: int,
             length_penalty: float) -> Callable:
  if name == "greedy":
    return lambda fn, carry, start, rng: greedy_decode(fn, carry, start, length)
  if name.startswith("sample_t"):
    t = float(name[len("sample_t"):])
    return lambda fn, carry, start, rng: sample_decode(fn, carry, start, length, rng, t, top_k,
                                                       top_p)
  return lambda fn, carry, start, rng: beam_search(fn, carry, start, length, beam_size, None,
                                                   length_penalty).tokens[:, 0]


def distinct_n(sequences: Sequence[Sequence[Any]], n: int = 2) -> float:
  grams = [tuple(s[i:i + n]) for s in sequences for i in range(len(s) - n + 1)]
  return len(set(grams)) / max(len(grams), 1)


def generation_evaluator(prime: Callable, step: Callable, prompts: np.ndarray,
                         references: np.ndarray, detokenize: Callable[[Sequence[int]], str],
                         temperatures: Sequence[float] = (0.5, 1.0), top_k: int = 0,
                         top_p: float = 1.0, beam_size: int = 5, length_penalty: float = 0.0,
                         samples: int = 3, report: str = "generations.md") -> Callable:
  """An evaluator function over prompts (N, P) and true continuations references (N, L)."""
  length = int(references.shape[1])
  names = method_names(temperatures, beam_size)

  def logprob(state, carry, start, tokens):
    def body(c, xs):
      inp, out = xs
      c, logits = step(state)(c, inp)
      return c, jnp.take_along_axis(jax.nn.log_softmax(logits), out[:, None], -1)[:, 0]
    inputs = jnp.concatenate([start[:, None], tokens[:, :-1]], axis=1)
    _, lp = jax.lax.scan(body, carry, (inputs.T, tokens.T))
    return lp.mean()

  @jax.jit
  def generate_all(state, prompts):
    carry, start = prime(state, prompts)
    out = {}
    for i, name in enumerate(names):
      dec = _decoder(name, length, top_k, top_p, beam_size, length_penalty)
      tokens = dec(step(state), carry, start, jax.random.fold_in(state.rng, 7919 + i))
      out[name] = (tokens, logprob(state, carry, start, tokens))
    return out

  def run(state, args, workdir=None):
    out = jax.device_get(generate_all(state, jnp.asarray(prompts)))
    refs = [list(r) for r in np.asarray(references)]
    metrics, lines = {}, ["# Generations", ""]
    for name in names:
      tokens, lp = out[name]
      hyps = [list(t) for t in np.asarray(tokens)]
      metrics[f"{name}/logprob_per_token"] = float(lp)
      metrics[f"{name}/bleu"] = corpus_bleu(hyps, refs)
      metrics[f"{name}/distinct_2"] = distinct_n(hyps)
      lines += [f"## {name}", "",
                f"log p per token {float(lp):.3f}, BLEU {metrics[f'{name}/bleu']:.4f}, "
                f"distinct-2 {metrics[f'{name}/distinct_2']:.3f}", ""]
      for k in range(min(samples, len(hyps))):
        lines += ["```", detokenize(list(np.asarray(prompts)[k])) + "⟦" + detokenize(hyps[k])
                  + "⟧", "```", ""]
    if workdir is not None:
      step_no = int(jax.device_get(state.step))
      lines.insert(1, f"\nStep {step_no}; the prompt is followed by the generated text in ⟦ ⟧.")
      (pathlib.Path(workdir) / report).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return metrics

  return run
