"""Exercise 002 §11.2.7 (triplet part): triplet loss (LOSS-9, batch-hard mining, margin 0.2) for
image retrieval on MNIST. A SimpleCNN maps each image to a 32-d embedding, L2-normalised in the
loss; retrieval = the nearest other test images by Euclidean distance on those embeddings.

Writes metrics.jsonl (train/eval/test triplet loss, then a second 'test' event with recall@1,
recall@5 over all 10,000 test images as queries against the other 9,999) and plots/.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_triplet.py --workdir runs/mnist_triplet
Expected: test recall@1 0.9786, recall@5 0.9941 (all 10,000 MNIST test images as queries; chance
          recall@1 ~0.11); final test triplet loss 0.202 (batch-hard, within batches of 1000).
Time:     2 min 39 s on the reference 2-core CPU (468 steps = 2 epochs of 256, 3-4 steps/s;
          4 min 2 s measured while another training shared the 2 cores).
Curriculum: LOSS-9, ARC-6.
"""

import ml_collections

from configs.defaults import retrieval
from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = retrieval.get_config()
  c.name = "mnist_triplet"
  c.optimizer = optimizer_config("adam", 1e-3, schedule="constant")
  c.train.update(batch_size=256, num_epochs=2, log_every=50, max_checkpoints=1)
  return c
