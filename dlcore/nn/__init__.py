"""Building blocks shared by dlcore models (curriculum §1-2): activations, initialisers,
pooling, normalisation (BatchNorm, LayerNorm, LRN) and dropout (inverted, vanilla, spatial).

Layer rule: `dlcore.nn` imports only jax/flax/numpy and dlcore.errors/dlcore.registry.
"""

from dlcore.nn.activations import ACTIVATIONS, get_activation
from dlcore.nn.dropout import Dropout, SpatialDropout, dropout
from dlcore.nn.initializers import INITIALIZERS, compute_fans, get_initializer
from dlcore.nn.normalization import BatchNorm, LayerNorm, LocalResponseNorm, local_response_norm
from dlcore.nn.pooling import avg_pool, global_avg_pool, max_pool

__all__ = [
    "ACTIVATIONS", "get_activation", "INITIALIZERS", "get_initializer", "compute_fans",
    "max_pool", "avg_pool", "global_avg_pool", "BatchNorm", "LayerNorm", "LocalResponseNorm",
    "local_response_norm", "Dropout", "SpatialDropout", "dropout"
]
