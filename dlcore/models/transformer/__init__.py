"""Transformer models (curriculum §3d): the encoder-decoder (ARC-22), BERT (ARC-23), GPT
(ARC-24) and ViT (ARC-26), built from `dlcore.nn.transformer` and
`dlcore.nn.multi_head_attention`."""

from dlcore.errors import ConfigError


def check_transformer_fields(model: str, fields: dict, vocab_key: str = "vocab_size",
                             d_model: int = 128, num_heads: int = 4) -> None:
  """The models' `check_fields`: the task-set vocabulary size is >= 1 and d_model divides by
  num_heads (`d_model`, `num_heads`: the model's defaults)."""
  if int(fields.get(vocab_key, 0)) < 1:
    raise ConfigError(f"{model} needs model.{vocab_key} >= 1 (the task sets it from the "
                      f"vocabulary).")
  d, h = int(fields.get("d_model", d_model)), int(fields.get("num_heads", num_heads))
  if h < 1 or d % h:
    raise ConfigError(f"{model} needs model.d_model ({d}) divisible by model.num_heads ({h}).")
