"""CIFAR-10 (DS-2, TFDS `cifar10`) with any architecture of the CNN zoo: pick it after a colon.

  configs/cifar10.py:resnet20 (default), configs/cifar10.py:vgg16_bn, configs/cifar10.py:densenet121
  architectures: lenet5, alexnet, vgg11/13/16/19 (+ _bn), googlenet, resnet18/34/50/101/152,
  resnet20/32/44/56/110 (the CIFAR ResNets of He et al. §4.2), densenet121/169, simple_cnn.

Small-input forms (canonical, not from seed): ImageNet-style models use their `stem="cifar"`
(3x3/1 first conv, no early down-sampling), VGG/AlexNet classifiers are 512/1024 wide. The
recipe is the common one for CIFAR ResNets: SGD with Nesterov momentum 0.9, lr 0.1 (0.01 for
AlexNet and the VGGs without BN), cosine over 200 epochs, coupled L2 5e-4 on the kernels, batch
128, pad-4 random crops and horizontal flips on device, per-channel standardisation. GoogLeNet
adds its auxiliary losses with weight 0.3.

The data must be prepared once where TFDS can download it (`--config.data.download=True`, or
copy a prepared `cifar10/` TFDS folder into the data dir); offline, a missing copy fails in about
a second naming the folder. CIFAR-10 is not available on the reference machine, so these configs
are tested on synthetic arrays of CIFAR-10 shape (tests/test_cnn_zoo_configs.py: a few train
steps for every architecture, output shapes).

Command:  python -m launch.train --config configs/cifar10.py:resnet20 --workdir runs/c10_r20 \
            --config.data.data_dir=~/tensorflow_datasets
Expected: published test accuracy of this recipe's family, e.g. ResNet-20 91.3% and ResNet-56
          93.0% (He et al. 2015, Table 6); not measured here (no CIFAR-10 offline).
Time:     not measured here; compute is in the README's CNN-zoo table (FLOPs per image).
Curriculum: DS-2, ARC-6..12, REG-6, OPT-4, SCH-4, REG-1.
"""

import ml_collections

from configs.defaults import cnn_zoo

D = ml_collections.ConfigDict
ARCHS = ("lenet5", "alexnet", "googlenet", "simple_cnn", "densenet121", "densenet169") + tuple(
    f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")) + tuple(
        f"resnet{d}" for d in (18, 34, 50, 101, 152, 20, 32, 44, 56, 110))


def model_config(arch: str) -> ml_collections.ConfigDict:
  """The model sub-config of an architecture name (small-input forms for 32x32 images)."""
  if arch not in ARCHS:
    raise ValueError(f"unknown architecture {arch!r} for configs/cifar10.py; one of {ARCHS}")
  for depth in (11, 13, 16, 19):
    if arch in (f"vgg{depth}", f"vgg{depth}_bn"):
      return D(dict(name="vgg", depth=depth, batch_norm=arch.endswith("_bn"), hidden=512,
                    dropout_rate=0.5))
  for depth in (18, 34, 50, 101, 152):
    if arch == f"resnet{depth}":
      return D(dict(name="resnet", depth=depth, stem="cifar", zero_init_residual=False))
  for depth in (20, 32, 44, 56, 110):
    if arch == f"resnet{depth}":
      return D(dict(name="cifar_resnet", depth=depth, width=16, shortcut="A"))
  for depth in (121, 169):
    if arch == f"densenet{depth}":
      return D(dict(name="densenet", depth=depth, stem="cifar"))
  fixed = {
      "lenet5": dict(name="lenet5", pad_to=32, activation="tanh", pooling="avg"),
      "alexnet": dict(name="alexnet", stem="cifar", hidden=1024, dropout_rate=0.5, lrn=True),
      "googlenet": dict(name="googlenet", stem="cifar", aux_heads=True),
      "simple_cnn": dict(name="simple_cnn", features=(32, 64), batch_norm=True,
                         dropout_rate=0.25),
  }
  return D(fixed[arch])


def get_config(arch: str = "resnet20") -> ml_collections.ConfigDict:
  c = cnn_zoo.get_config(arch)
  c.name = f"cifar10_{arch}"
  c.data = D(dict(
      name="cifar10", data_dir="", tfds_data_dir="", download=False, validation_split="",
      normalize="standardize", flatten=False, one_hot=False,
      augment=D(dict(random_crop_padding=4, horizontal_flip=True, max_shift=0))))
  c.model = model_config(arch)
  c.optimizer.l2_coupled = 5e-4
  c.train.num_epochs = 200
  c.eval.reports = ("per_class", "calibration")
  return c
