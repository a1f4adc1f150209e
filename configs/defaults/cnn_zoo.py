"""Default of image classification with the CNN zoo at a published recipe (the supervised
trainer, `experiment='classification'`), shared by configs/cifar10.py and configs/imagenet.py.

Sections: configs.defaults.classification's, with
  loss:           aux_weight=0.3 (GoogLeNet's auxiliary losses; ignored by the other models)
  metrics:        ('accuracy', 'top5_accuracy')
  optimizer:      SGD with Nesterov momentum 0.9, lr `learning_rate(arch)`, cosine schedule
  eval:           inspect=('confusion_matrix', 'error_gallery', 'grad_cam'), inspect_images
  early_stopping: on accuracy (mode 'max')
The dataset config gives the data and model sections, the coupled L2, batch and epochs.
"""

import ml_collections

from configs.defaults import classification
from dlcore.optim import optimizer_config


def learning_rate(arch: str) -> float:
  """0.1 for the BN networks; 0.01 for AlexNet and the VGGs without BN, as in their papers
  (at 0.1 they diverge within a few steps)."""
  plain = arch == "alexnet" or (arch.startswith("vgg") and not arch.endswith("_bn"))
  return 0.01 if plain else 0.1


def get_config(arch: str = "resnet50") -> ml_collections.ConfigDict:
  c = classification.get_config()
  c.name = f"cnn_zoo_{arch}"
  c.loss.aux_weight = 0.3
  c.metrics = ("accuracy", "top5_accuracy")
  c.optimizer = optimizer_config("nesterov", learning_rate(arch), schedule="cosine",
                                 momentum=0.9)
  c.eval.update(inspect=("confusion_matrix", "error_gallery", "grad_cam"), inspect_images=8)
  c.early_stopping.update(metric="accuracy", mode="max")
  return c
