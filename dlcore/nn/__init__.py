"""Building blocks shared by dlcore models: activations, initialisers, pooling (curriculum §1-2).

Layer rule: `dlcore.nn` imports only jax/flax/numpy and dlcore.errors/dlcore.registry.
"""

from dlcore.nn.activations import ACTIVATIONS, get_activation
from dlcore.nn.initializers import INITIALIZERS, get_initializer
from dlcore.nn.pooling import avg_pool, global_avg_pool, max_pool

__all__ = [
    "ACTIVATIONS", "get_activation", "INITIALIZERS", "get_initializer", "max_pool", "avg_pool",
    "global_avg_pool"
]
