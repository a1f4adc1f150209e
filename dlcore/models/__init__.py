"""Models by name (curriculum §3) and `build_model` from an ml-collections config.

`MODELS` maps config names to Flax module classes: 'mlp' (ARC-2/ARC-3), 'perceptron' (ARC-1),
'simple_cnn' (ARC-6), 'lenet5' (ARC-7), 'alexnet' (ARC-8), 'vgg' (ARC-9, depth 11/13/16/19,
batch_norm), 'googlenet' (ARC-10, aux_heads), 'resnet' (ARC-11, depth 18..152, stem
imagenet/cifar), 'cifar_resnet' (ARC-11, depth 6n+2), 'densenet' (ARC-12, depth 121/169/201),
'rnn_classifier' (ARC-17..20, token ids in), 'rnn_lm' (ARC-17 language model),
'seq2seq' (ARC-21 encoder-decoder, attention none/bahdanau/luong), 'gpt' (ARC-24
decoder-only Transformer LM), 'vit' (ARC-26 Vision Transformer), 'transformer'
(ARC-22 encoder-decoder), 'bert' and 'bert_classifier' (ARC-23 pretraining and fine-tuning),
'q_network' and 'actor_critic' (RL-6..9 agents; MLP, MinAtar or Nature-DQN torso),
'gcn', 'gat' and 'mpnn' (ARC-44 graph networks), 'skipgram' (ARC-37/39 embeddings),
'autoencoder' and 'vae' (ARC-29..32 MLP autoencoders).
Layer rule: models import dlcore.nn, dlcore.errors and dlcore.registry.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import flax.linen as nn

from dlcore.errors import ConfigError
from dlcore.registry import Registry, closest

MODELS: Registry = Registry("model")

# Imported after MODELS exists so their @MODELS.register decorators can run.
from dlcore.models import gnn, mlp, perceptron, rl, skipgram  # noqa: E402,F401
from dlcore.models.cnn import (alexnet, densenet, googlenet, lenet, resnet,  # noqa: E402,F401
                               simple_cnn, vgg)
from dlcore.models.cnn.simple_cnn import SimpleCNN  # noqa: E402
from dlcore.models.sequence import classifier, language_model, seq2seq  # noqa: E402,F401
from dlcore.models.transformer import bert, encoder_decoder, gpt, vit  # noqa: E402,F401
from dlcore.models import autoencoder  # noqa: E402,F401
from dlcore.models import contrastive  # noqa: E402,F401
from dlcore.models import glove  # noqa: E402,F401
from dlcore.models import gan, unet  # noqa: E402,F401
from dlcore.models.mlp import MLP  # noqa: E402
from dlcore.models.perceptron import (Perceptron, PerceptronHistory,  # noqa: E402
                                      labels_to_pm1, perceptron_fit)

_RESERVED = ("parent", "name", "num_outputs")


def model_fields(cls: type) -> list[str]:
  """The config-settable constructor fields of a registered model class."""
  return [f.name for f in dataclasses.fields(cls) if f.init and f.name not in _RESERVED]


def _plain(value: Any) -> Any:
  """Lists from configs become tuples so module fields stay hashable."""
  if isinstance(value, list):
    return tuple(_plain(v) for v in value)
  return value


def build_model(model_config: Mapping[str, Any], num_outputs: int) -> nn.Module:
  """Instantiate `MODELS[model_config.name](num_outputs=num_outputs, **other keys)`.

  `model_config` is an `ml_collections.ConfigDict` (or a mapping). `num_outputs` comes from the
  dataset. Unknown keys raise a one-sentence `ConfigError` naming the key, the model and the
  closest valid field; a model class may define `check_fields(fields: dict)` (a classmethod;
  `fields` holds num_outputs too) that raises a `ConfigError` for a bad value (e.g. `MLP`:
  `features` must be positive ints).
  """
  config = model_config.to_dict() if hasattr(model_config, "to_dict") else dict(model_config)
  if "name" not in config:
    raise ConfigError(f"The model config needs a 'name' key, one of: {', '.join(MODELS.names())}.")
  name = config.pop("name")
  cls = MODELS.get(name)
  fields = model_fields(cls)
  for key in config:
    if key == "num_outputs" and config[key] == num_outputs:
      continue
    if key == "num_outputs":
      raise ConfigError(f"model.num_outputs={config[key]} conflicts with the dataset's "
                        f"{num_outputs} outputs; remove it from the model config.")
    if key not in fields:
      hint = closest(key, fields, n=1)
      did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
      valid = f"valid fields: {', '.join(fields)}" if fields else "it takes no fields"
      raise ConfigError(f"Unknown key model.{key} for model {name!r}{did_you_mean}; {valid}.")
  config.pop("num_outputs", None)
  kwargs = {k: _plain(v) for k, v in config.items()}
  check = getattr(cls, "check_fields", None)  # a model's own value checks (ConfigError)
  if callable(check):
    check(dict(kwargs, num_outputs=num_outputs))
  return cls(num_outputs=num_outputs, **kwargs)


__all__ = [
    "MODELS", "build_model", "model_fields", "MLP", "SimpleCNN", "Perceptron", "PerceptronHistory",
    "perceptron_fit", "labels_to_pm1"
]
