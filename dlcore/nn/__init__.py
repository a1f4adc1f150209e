"""Building blocks shared by dlcore models (curriculum §1-2): activations, initialisers,
convolution arithmetic (output sizes, parameter counts, 1x1 conv), pooling, normalisation
(BatchNorm, LayerNorm, LRN) and dropout (inverted, vanilla, spatial).

Layer rule: `dlcore.nn` imports only jax/flax/numpy and dlcore.errors/dlcore.registry.
"""

from dlcore.nn.activations import ACTIVATIONS, get_activation
from dlcore.nn.conv import (conv1x1, conv_output_shape, conv_output_size, conv_param_count,
                            count_params, effective_kernel_size, pool_output_shape,
                            pool_output_size)
from dlcore.nn.dropout import Dropout, SpatialDropout, dropout
from dlcore.nn.initializers import INITIALIZERS, compute_fans, get_initializer
from dlcore.nn.normalization import BatchNorm, LayerNorm, LocalResponseNorm, local_response_norm
from dlcore.nn.pooling import avg_pool, global_avg_pool, max_pool

__all__ = [
    "ACTIVATIONS", "get_activation", "INITIALIZERS", "get_initializer", "compute_fans",
    "max_pool", "avg_pool", "global_avg_pool", "BatchNorm", "LayerNorm", "LocalResponseNorm",
    "local_response_norm", "Dropout", "SpatialDropout", "dropout", "conv_output_size",
    "conv_output_shape", "pool_output_size", "pool_output_shape", "effective_kernel_size",
    "conv_param_count", "count_params", "conv1x1"
]
