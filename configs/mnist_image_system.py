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

from dlcore.optim import optimizer_config

D = ml_collections.ConfigDict


def get_config() -> ml_collections.ConfigDict:
  c = D()
  c.name = "mnist_image_system"
  c.title = "Project 11.3: image classification system on MNIST"
  c.experiment = "comparison"
  c.base_experiment = "classification"
  c.seed = 0
  c.data = D(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=0,
      normalize="standardize", flatten=False, one_hot=False,
      augment=D(dict(random_crop_padding=0, horizontal_flip=False, max_shift=2))))
  c.model = D(dict(name="lenet5", pad_to=32, activation="tanh", pooling="avg",
                   batch_norm=False, dropout_rate=0.0))
  c.loss = D(dict(name="cross_entropy", reduction="mean", l1_penalty=0.0, l2_penalty=0.0))
  c.metrics = ("accuracy",)
  c.optimizer = optimizer_config("adam", 2e-3, schedule="cosine")
  c.train = D(dict(batch_size=128, num_epochs=15, num_steps=0, log_every=200, eval_every=0,
                   checkpoint_every=0, max_checkpoints=3, progress=True))
  c.eval = D(dict(split="test", test_split="test", batch_size=1000, reports=("per_class",),
                  inspect=("confusion_matrix", "error_gallery", "feature_maps", "grad_cam"),
                  inspect_images=8))
  c.early_stopping = D(dict(metric="loss", mode="min", patience=0, min_delta=0.0,
                            restore_best=False))
  c.mesh = D(dict(num_devices=0))
  resnet_opt = optimizer_config("adamw", 2e-3, schedule="warmup_cosine", weight_decay=1e-4)
  resnet_opt.schedule.warmup_steps = 200
  c.variants = D(dict(
      mlp=D(dict(replace=("model",), data=D(dict(flatten=True)), train=D(dict(num_epochs=10)),
                 model=D(dict(name="mlp", features=(512, 256), activation="relu",
                              dropout_rate=0.2, batch_norm=True)))),
      simple_cnn=D(dict(replace=("model",), train=D(dict(num_epochs=6)),
                        model=D(dict(name="simple_cnn", features=(32, 64), activation="relu",
                                     batch_norm=True, dropout_rate=0.25)))),
      lenet5=D(dict()),
      resnet=D(dict(replace=("model", "optimizer"), train=D(dict(num_epochs=5)),
                    model=D(dict(name="cifar_resnet", depth=20, width=16, shortcut="A",
                                 zero_init_residual=False)),
                    optimizer=resnet_opt)),
  ))
  return c
