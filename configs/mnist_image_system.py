"""Project 002 §11.3, the image classification system: MLP vs SimpleCNN vs LeNet-5 vs ResNet-20
on real MNIST, one command.

The whole pipeline is switched from this config: loading (IDX files from the data dir),
on-device preprocessing (standardisation) and augmentation (random shifts of up to 2 pixels,
`data.augment`), the model (`variants.<v>.model`), BN and dropout (model fields), the schedule
(cosine; warmup + cosine for the ResNet), training and evaluation over all 10,000 test images.
Each variant runs in <workdir>/<variant>/ (resumable) and writes its curves, reports and, with
`eval.inspect`, a confusion matrix, an error gallery of the most confident mistakes, the feature
maps of every conv layer and Grad-CAM heatmaps (<variant>/inspect/). The comparison table and the
overlaid curves go to <workdir>/comparison.md and <workdir>/plots/.

The lenet5 and resnet variants have exactly the settings of configs/mnist_lenet5.py and
configs/mnist_resnet.py (a test checks it), so their rows are those configs' results.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_image_system.py --workdir runs/mnist_image_system
Expected: test accuracy MLP 0.9897, SimpleCNN 0.9911, LeNet-5 0.9921, ResNet-20 0.9959.
Time:     50 min 52 s on the reference 2-core CPU while other jobs shared it (ResNet-20: 30 min).
Curriculum: project 002 §11.3, INF-4, HPO-5, ARC-2, ARC-6, ARC-7, ARC-11, LAY-11, REG-3, REG-6,
            SCH-4, SCH-5, MET-20, REG-9, ROB-3, ROB-6.
"""

import ml_collections

from configs import mnist_lenet5, mnist_resnet
from configs.defaults import comparison

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = comparison.get_config(mnist_lenet5.get_config())  # the base: the lenet5 variant
  c.name = "mnist_image_system"
  c.title = "Project 11.3: image classification system on MNIST"
  resnet = mnist_resnet.get_config()
  c.variants = D(dict(
      mlp=D(dict(replace=("model",), data=D(dict(flatten=True)), train=D(dict(num_epochs=10)),
                 model=D(dict(name="mlp", features=(512, 256), activation="relu",
                              dropout_rate=0.2, batch_norm=True)))),
      simple_cnn=D(dict(replace=("model",), train=D(dict(num_epochs=6)),
                        model=D(dict(name="simple_cnn", features=(32, 64), activation="relu",
                                     batch_norm=True, dropout_rate=0.25)))),
      lenet5=D(dict()),
      resnet=D(dict(replace=("model", "optimizer"),
                    train=D(dict(num_epochs=resnet.train.num_epochs)),
                    model=resnet.model, optimizer=resnet.optimizer)),
  ))
  return c
