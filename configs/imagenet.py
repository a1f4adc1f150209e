"""ImageNet / ILSVRC-2012 (DS-4, TFDS `imagenet2012`, streamed) with any architecture of the
CNN zoo at its published size (224x224, 1000 classes): pick it after a colon.

  configs/imagenet.py:resnet50  (default)   configs/imagenet.py:vgg16   configs/imagenet.py:alexnet
  architectures: alexnet, vgg11/13/16/19 (+ _bn), googlenet, resnet18/34/50/101/152,
  densenet121/169.

Data: `dlcore.data.imagenet` reads the prepared TFDS array_record files row by row (no
TensorFlow at run time; `data.num_workers` decode threads), resizes the shorter side to 256 and
keeps the central 256x256 on the host; on device, training takes random 224x224 windows with
horizontal flips and evaluation the central 224x224, then standardises with the ImageNet channel
statistics. Preparing imagenet2012 needs the ILSVRC-2012 tars in
`<data dir>/downloads/manual` (see the error message when it is missing, which comes in about a
second). Not available on the reference machine: these configs are tested on synthetic arrays of
ImageNet shape (tests/test_cnn_zoo_configs.py).

Recipe (He et al. 2015 / Goyal et al. 2017, canonical, not from seed): SGD with Nesterov momentum
0.9, lr 0.1 per 256 images (0.01 for AlexNet and the VGGs without BN) with 5 epochs of linear
warmup then cosine decay over 90 epochs, coupled L2 1e-4 on the kernels, batch 256, bfloat16
compute with float32 parameters, GoogLeNet's auxiliary losses weighted 0.3. Scale
`optimizer.learning_rate` with the batch.

Command:  python -m launch.train --config configs/imagenet.py:resnet50 --workdir runs/in_r50 \
            --config.data.data_dir=~/tensorflow_datasets
Expected: published top-1 accuracy of the family, e.g. ResNet-50 about 76% (torchvision's
          recipe: 76.1%), ResNet-18 about 70%, VGG-16 about 72%; not measured here (no ImageNet).
Time:     not measured here (no GPU lent); benchmarks/cnn_throughput.py gives images/s.
Curriculum: DS-4, ARC-8..12, REG-6, OPT-4, SCH-5, REG-1.
"""

import ml_collections

from configs.defaults import cnn_zoo

D = ml_collections.ConfigDict
ARCHS = ("alexnet", "googlenet", "densenet121", "densenet169") + tuple(
    f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")) + tuple(
        f"resnet{d}" for d in (18, 34, 50, 101, 152))


def model_config(arch: str) -> ml_collections.ConfigDict:
  """The model sub-config of an architecture name at its ImageNet size (bfloat16 compute)."""
  if arch not in ARCHS:
    raise ValueError(f"unknown architecture {arch!r} for configs/imagenet.py; one of {ARCHS}")
  if arch.startswith("vgg"):
    m = dict(name="vgg", depth=int(arch[3:5]), batch_norm=arch.endswith("_bn"))
  elif arch.startswith("resnet"):
    m = dict(name="resnet", depth=int(arch[6:]), stem="imagenet", zero_init_residual=True)
  elif arch.startswith("densenet"):
    m = dict(name="densenet", depth=int(arch[8:]), stem="imagenet")
  elif arch == "googlenet":
    m = dict(name="googlenet", stem="imagenet", aux_heads=True)
  else:
    m = dict(name="alexnet", stem="imagenet", lrn=True)
  return D(dict(m, dtype="bfloat16"))


def get_config(arch: str = "resnet50") -> ml_collections.ConfigDict:
  c = cnn_zoo.get_config(arch)
  c.name = f"imagenet_{arch}"
  c.data = D(dict(
      name="imagenet2012", data_dir="", tfds_data_dir="", download=False, resize_size=256,
      crop_size=224, num_workers=16, normalize="standardize", flatten=False, one_hot=False,
      augment=D(dict(random_crop_size=224, random_crop_padding=0, horizontal_flip=True,
                     max_shift=0))))
  c.model = model_config(arch)
  c.optimizer.l2_coupled = 1e-4
  c.optimizer.schedule.name = "warmup_cosine"
  c.optimizer.schedule.warmup_steps = 5 * 5005  # 5 epochs of 1,281,167 / 256 steps
  c.train.update(batch_size=256, num_epochs=90, log_every=500, checkpoint_every=2000)
  c.eval.update(batch_size=500, reports=("calibration",))
  return c
