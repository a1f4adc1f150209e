"""Decoding evaluators: generate outputs for every example of a split on device, then score them
on the host (BLEU, exact match, ...)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
from jax.sharding import Mesh

from dlcore.evals.split_metrics import predict_split


def greedy_decode_evaluator(decode: Callable, arrays: Mapping[str, Any], batch_size: int,
                            mesh: Mesh, score: Callable[[np.ndarray, np.ndarray], dict],
                            target_key: str = "target") -> Callable:
  """An evaluator function: `decode(state, batch, *args) -> (B, T) tokens` (jitted; e.g. with
  `dlcore.decode.greedy_decode`) over every example of `arrays`, then
  `score(predictions, targets)` on the host."""

  def run(state, args, workdir=None):
    predictions, targets = predict_split(decode, state, arrays, batch_size, mesh, args,
                                         label_key=target_key)
    return {**score(predictions, targets), "num_examples": int(len(targets))}

  return run
