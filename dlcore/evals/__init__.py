"""Evaluators chosen by `config.evals`: split metrics, whole-split reports, retrieval recall@k,
greedy decoding with a host-side metric, inspection pictures. Each is an `Evaluator`: a name
(the `split` of its events in metrics.jsonl), when it runs (every N steps, at the end) and a
function of (state, step_args) -> {metric: value}.
"""

from dlcore.evals.base import Evaluator, parse_evals
from dlcore.evals.decode import greedy_decode_evaluator
from dlcore.evals.retrieval import recall_at_k
from dlcore.evals.split_metrics import evaluate_split, max_inflight_steps, split_metrics

__all__ = ["Evaluator", "evaluate_split", "greedy_decode_evaluator", "max_inflight_steps",
           "parse_evals", "recall_at_k", "split_metrics"]
