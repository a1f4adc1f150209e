"""GloVe (ARC-40; Pennington et al. 2014): word vectors w_i, context vectors w̃_j and biases b_i,
b̃_j over `num_outputs` words, `model(i [...], j [...]) -> w_iᵀw̃_j + b_i + b̃_j`, the term that
the weighted least squares (LOSS-20, `dlcore.losses.glove`) fits to log X_ij. `model.embed(ids)`
is w + w̃, the paper's final vectors (§4.2). Initialisation as the reference code: every table
uniform in ±0.5/d.
"""

from __future__ import annotations

import flax.linen as nn

from dlcore.models import MODELS
from dlcore.models.skipgram import check_features, uniform_init


@MODELS.register("glove")
class GloVe(nn.Module):
  """Word and context tables of `features` dimensions, with their biases."""
  num_outputs: int
  features: int = 100

  @classmethod
  def check_fields(cls, fields):
    check_features(fields, 100)

  def setup(self):
    init = uniform_init(0.5 / self.features)
    self.word = nn.Embed(self.num_outputs, self.features, embedding_init=init)
    self.context = nn.Embed(self.num_outputs, self.features, embedding_init=init)
    self.word_bias = nn.Embed(self.num_outputs, 1, embedding_init=init)
    self.context_bias = nn.Embed(self.num_outputs, 1, embedding_init=init)

  def embed(self, ids):
    return self.word(ids) + self.context(ids)

  def __call__(self, rows, cols):
    return ((self.word(rows) * self.context(cols)).sum(-1) + self.word_bias(rows)[..., 0]
            + self.context_bias(cols)[..., 0])
