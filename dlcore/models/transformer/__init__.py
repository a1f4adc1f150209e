"""Transformer models (curriculum §3d): the encoder-decoder (ARC-22), BERT (ARC-23), GPT
(ARC-24) and ViT (ARC-26), built from `dlcore.nn.transformer` and
`dlcore.nn.multi_head_attention`."""
