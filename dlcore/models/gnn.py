"""Graph networks for full-batch node classification (ARC-44): `model(x, senders, receivers,
train)` -> logits [N, num_outputs], x the node features [N, F] (dense, or a
`dlcore.nn.sparse.SparseMatrix`: dropout then falls on its stored entries), edges directed
pairs.

  'gcn'   Kipf & Welling 2017: dropout -> GCNConv(hidden) -> ReLU -> dropout -> GCNConv(C);
          defaults 16 hidden units, dropout 0.5 (on the input features too, as their code)
  'gat'   Veličković et al. 2018: dropout -> GATConv(hidden x heads, concat) -> ELU -> dropout
          -> GATConv(C, output_heads, averaged); 8 heads x 8 units, 1 output head, dropout 0.6
          on every layer's input, on the attention coefficients and on the transformed features
  'mpnn'  LAY-44 generic message passing (`dlcore.nn.message_passing.MessagePassing`), layers
          of `hidden` units with ReLU and `aggregation` sum/mean/max, then a Dense(C) readout

Each model sows its last hidden representation as intermediates 'hidden' (for the embedding
plots).
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.linen as nn
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.models import MODELS
from dlcore.nn.message_passing import AGGREGATIONS, GATConv, GCNConv, MessagePassing
from dlcore.nn.sparse import FeatureDropout as Dropout


def _check_positive(fields: Mapping[str, Any], *keys: str) -> None:
  for key in keys:
    value = fields.get(key, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ConfigError(f"model.{key} must be an int >= 1, got {value!r}.")


@MODELS.register("gcn")
class GCN(nn.Module):
  """Two (or `num_layers`) GCN layers, ReLU between, dropout before each."""
  num_outputs: int
  hidden: int = 16
  num_layers: int = 2
  dropout_rate: float = 0.5
  use_bias: bool = True

  @classmethod
  def check_fields(cls, fields):
    _check_positive(fields, "hidden", "num_layers")

  @nn.compact
  def __call__(self, x, senders, receivers, train: bool = False):
    for i in range(self.num_layers):
      x = Dropout(self.dropout_rate, name=f"dropout_{i}")(x, train)
      last = i == self.num_layers - 1
      x = GCNConv(self.num_outputs if last else self.hidden, self.use_bias,
                  name=f"conv_{i}")(x, senders, receivers)
      if not last:
        x = nn.relu(x)
        self.sow("intermediates", "hidden", x)
    return x


@MODELS.register("gat")
class GAT(nn.Module):
  """Two GAT layers: `num_heads` x `hidden` concatenated with ELU, then `output_heads` averaged."""
  num_outputs: int
  hidden: int = 8
  num_heads: int = 8
  output_heads: int = 1
  dropout_rate: float = 0.6
  attention_dropout: float = 0.6

  @classmethod
  def check_fields(cls, fields):
    _check_positive(fields, "hidden", "num_heads", "output_heads")

  @nn.compact
  def __call__(self, x, senders, receivers, train: bool = False):
    x = Dropout(self.dropout_rate, name="dropout_0")(x, train)
    x = GATConv(self.hidden, self.num_heads, attention_dropout=self.attention_dropout,
                feature_dropout=self.dropout_rate, name="conv_0")(x, senders, receivers, train)
    x = nn.elu(x)
    self.sow("intermediates", "hidden", x)
    x = Dropout(self.dropout_rate, name="dropout_1")(x, train)
    return GATConv(self.num_outputs, self.output_heads, concat=False,
                   attention_dropout=self.attention_dropout, feature_dropout=self.dropout_rate,
                   name="conv_1")(x, senders, receivers, train)


@MODELS.register("mpnn")
class MPNN(nn.Module):
  """`num_layers` MessagePassing layers of `hidden` units (ReLU, dropout), then Dense logits."""
  num_outputs: int
  hidden: int = 64
  num_layers: int = 2
  aggregation: str = "mean"
  dropout_rate: float = 0.5

  @classmethod
  def check_fields(cls, fields):
    _check_positive(fields, "hidden", "num_layers")
    if fields.get("aggregation", "mean") not in AGGREGATIONS:
      raise ConfigError(f"model.aggregation={fields['aggregation']!r}; valid: "
                        f"{', '.join(AGGREGATIONS)}.")

  @nn.compact
  def __call__(self, x, senders, receivers, train: bool = False):
    for i in range(self.num_layers):
      x = Dropout(self.dropout_rate, name=f"dropout_{i}")(x, train)
      x = nn.relu(MessagePassing(self.hidden, self.aggregation, name=f"layer_{i}")(
          x, senders, receivers))
    self.sow("intermediates", "hidden", x)
    return nn.Dense(self.num_outputs, name="output")(jnp.asarray(x))
