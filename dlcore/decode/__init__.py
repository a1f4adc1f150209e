"""Decoding over a model-agnostic step function `step_fn(carry, tokens_t) -> (carry, logits_t)`.

The carry is any pytree with batch-leading leaves (an RNN hidden state, a Transformer KV cache):

  greedy_decode  (GEN-1)  y_t = argmax_v z_t[v], one `lax.scan`
  sample_decode  (GEN-2)  y_t ~ softmax(filter_logits(z_t)): temperature (0 = greedy), top-k,
                          nucleus top-p; one `lax.scan`, key fold_in(rng, t)
  beam_search    (GEN-3)  K-best hypotheses by log P(Y) / ((5 + |Y|)/6)^alpha (GNMT length
                          penalty), one `lax.while_loop`, returns a sorted `BeamResult`
"""

from dlcore.decode.beam import BeamResult, beam_search
from dlcore.decode.greedy import greedy_decode
from dlcore.decode.sampling import filter_logits, sample_decode

__all__ = ["greedy_decode", "sample_decode", "filter_logits", "beam_search", "BeamResult"]
