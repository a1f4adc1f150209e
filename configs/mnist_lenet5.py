"""LeNet-5 (ARC-7) on real MNIST: 28x28 digits zero-padded to 32x32 inside the model (§0 item 7),
tanh, average pooling, small random shifts as on-device augmentation.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train --config configs/mnist_lenet5.py \
            --workdir runs/mnist_lenet5
Expected: test accuracy 0.9921 (>= 0.990) on all 10,000 MNIST test images.
Time:     5 min 5 s on the reference 2-core CPU (7,020 steps).
Curriculum: ARC-7, LAY-5, LAY-9, ACT-2, LOSS-5, OPT-7, SCH-4, REG-6 (shift augmentation).
"""

import ml_collections

from configs.defaults import classification


def get_config() -> ml_collections.ConfigDict:
  c = classification.get_config()
  c.name = "mnist_lenet5"
  c.data.flatten = False
  c.data.augment = ml_collections.ConfigDict(dict(
      random_crop_padding=0, horizontal_flip=False, max_shift=2))
  c.model = ml_collections.ConfigDict(dict(
      name="lenet5", pad_to=32, activation="tanh", pooling="avg", batch_norm=False,
      dropout_rate=0.0))
  c.train.log_every = 200
  c.eval.update(inspect=("confusion_matrix", "error_gallery", "feature_maps", "grad_cam"),
                inspect_images=8)
  return c
