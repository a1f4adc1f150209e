"""Default of contrastive representation learning (`experiment='contrastive'`,
experiments/contrastive.py): SimCLR on MNIST images judged by a linear probe;
`get_config('clip')` gives the CLIP-style image-caption model judged by zero-shot accuracy.

Sections: configs.defaults.classification's plain sections (data: MNIST, images in [0, 1], not
flattened; train; eval.batch_size; mesh) with
  method:        'simclr' or 'clip'
  embedding_dim: the size of the projections (SimCLR) or of the joint space (CLIP)
  model:         'simclr': features, representation, projection_hidden; 'clip': features,
                 image_hidden, text_features
  augment:       (SimCLR) min_side of the random resized crop, noise (std of additive noise)
  loss:          (SimCLR) temperature of NT-Xent
  probe:         (SimCLR) num_train (training images the probe is fitted on), C, normalize,
                 max_iter
  captions:      (CLIP) templates ('{}' is the class name), class_names, length (words)
  evals:         'probe' / 'zero_shot' on the test split at the end (and every epoch)
"""

import ml_collections

from configs.defaults import classification
from dlcore.optim import optimizer_config

D = ml_collections.ConfigDict
TEMPLATES = ("a handwritten {}", "a drawing of the digit {}", "the number {}")


def get_config(method: str = "simclr") -> ml_collections.ConfigDict:
  c = classification.get_plain_config()
  c.name = f"mnist_{method}"
  c.experiment = "contrastive"
  c.method = method
  c.embedding_dim = 64
  c.data.update(normalize="unit", flatten=False)
  c.optimizer = optimizer_config("adam", 1e-3, schedule="cosine")
  c.train.update(batch_size=256, num_epochs=3, log_every=50, checkpoint_every=500,
                 max_checkpoints=1)
  del c.loss, c.metrics
  if method == "simclr":
    c.model = D(dict(name="simclr", features=(32, 64), representation=128,
                     projection_hidden=128))
    c.augment = D(dict(min_side=0.6, noise=0.1))
    c.loss = D(dict(temperature=0.5))
    c.probe = D(dict(num_train=10000, C=1.0, normalize="standard", max_iter=1000))
    c.evals = D({"probe": D(dict(type="probe", split="test", at_end=True, event="test"))})
  else:
    c.model = D(dict(name="clip", features=(32, 64), image_hidden=128, text_features=64))
    c.captions = D(dict(templates=TEMPLATES, length=8))
    c.evals = D({"zero_shot": D(dict(type="zero_shot", split="test", at_end=True,
                                     event="test")),
                 "zero_shot_unseen": D(dict(type="zero_shot", split="test", at_end=True,
                                            template="a picture of a {}"))})
  return c
