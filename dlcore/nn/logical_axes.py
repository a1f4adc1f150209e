"""Logical axis names of the big layers' parameters, for sharding rules that read like the model.

A parameter's logical axes name what each of its dimensions means ('embed', 'heads', 'mlp',
'vocab', ...). `config.mesh.logical_rules` maps logical names to mesh axes (for example
`(('heads', 'model'), ('mlp', 'model'))`, the Megatron-style tensor parallelism of
`TENSOR_PARALLEL`), and `dlcore.train.sharding` turns them into per-parameter PartitionSpecs.
Parameters stay plain arrays: the names are matched on the parameter paths that the layers of
`dlcore.nn` create (their sub-module names), so nothing in the train state is boxed.

  layer (dlcore.nn)                          parameter               logical axes
  MultiHeadAttention ('*attention')          query|key|value/kernel  embed, heads, head_dim
                                             query|key|value/bias    heads, head_dim
                                             out/kernel              heads, head_dim, embed
  FeedForward ('ffn')                        dense_1/kernel, bias    embed, mlp / mlp
                                             dense_2/kernel          mlp, embed
  Embedder, nn.Embed                         embedding               vocab, embed
  learned positions                          position_table          position, embed
  convolutions (any rank-4 kernel)           kernel                  height, width,
                                                                     in_channels, out_channels
  other Dense layers (any rank-2 kernel)     kernel                  in_features, out_features

Only arrays of the rank given match an entry; the first matching entry wins.
"""

from __future__ import annotations

LOGICAL_AXES = (
    (r"attention/(query|key|value)/kernel$", ("embed", "heads", "head_dim")),
    (r"attention/(query|key|value)/bias$", ("heads", "head_dim")),
    (r"attention/out/kernel$", ("heads", "head_dim", "embed")),
    (r"ffn/dense_1/kernel$", ("embed", "mlp")),
    (r"ffn/dense_1/bias$", ("mlp",)),
    (r"ffn/dense_2/kernel$", ("mlp", "embed")),
    (r"(^|/)embedding$", ("vocab", "embed")),
    (r"(^|/)position_table$", ("position", "embed")),
    (r"(^|/)kernel$", ("height", "width", "in_channels", "out_channels")),
    (r"(^|/)kernel$", ("in_features", "out_features")),
)
NAMES = tuple(dict.fromkeys(n for _, names in LOGICAL_AXES for n in names))
TENSOR_PARALLEL = (("heads", "model"), ("mlp", "model"))
