"""Corpus BLEU through sacreBLEU (Post, 2018), for scores comparable across papers.

BLEU = BP exp((1/4) sum_{n=1..4} log p_n) x 100 with sacreBLEU's own tokenization of detokenized
text. The defaults are `sacrebleu.metrics.BLEU()`'s: 13a tokenizer, cased, 'exp' smoothing (a
zero n-gram count m_n becomes 1 / (2^k t_n) for the k-th such order), one reference per sentence.
`dlcore.metrics.bleu` (MET-13) is unsmoothed and works on token ids; the two agree (up to the
factor 100) on whitespace-tokenized text whose every n-gram order has a match.
The signature (e.g. "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0") states the
exact configuration and should be reported with the score.
"""

from __future__ import annotations

from typing import Any, Sequence


def sacrebleu_corpus(hypotheses: Sequence[str], references: Sequence[str],
                     **bleu_kwargs: Any) -> dict:
  """{"sacrebleu": corpus BLEU in [0, 100], "sacrebleu_signature": str} over sentence pairs.

  references[i] is the single reference of hypotheses[i]; `bleu_kwargs` go to
  `sacrebleu.metrics.BLEU` (e.g. tokenize="none", lowercase=True, smooth_method="none").
  """
  hypotheses, references = list(hypotheses), list(references)
  if len(hypotheses) != len(references):
    raise ValueError(f"sacrebleu_corpus needs one reference per hypothesis: got "
                     f"{len(hypotheses)} hypotheses and {len(references)} references")
  try:
    from sacrebleu.metrics import BLEU
  except ImportError as e:  # optional dependency
    raise ImportError("sacrebleu_corpus needs the `sacrebleu` package "
                      "(pip install sacrebleu)") from e
  bleu = BLEU(**bleu_kwargs)
  result = bleu.corpus_score(hypotheses, [references])
  return {"sacrebleu": float(result.score), "sacrebleu_signature": str(bleu.get_signature())}
