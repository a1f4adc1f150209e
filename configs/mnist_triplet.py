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

from dlcore.optim import optimizer_config


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "mnist_triplet"
  c.experiment = "retrieval"
  c.seed = 0
  c.embedding_dim = 32
  c.recall_ks = (1, 5)
  c.data = ml_collections.ConfigDict(dict(
      name="mnist", data_dir="", path="", validation_size=0, seed=0, num_train=0, num_test=0,
      normalize="standardize", flatten=False, one_hot=False))
  c.model = ml_collections.ConfigDict(dict(
      name="simple_cnn", features=(32, 64), activation="relu", dropout_rate=0.0,
      batch_norm=False, hidden=0))
  c.loss = ml_collections.ConfigDict(dict(
      name="triplet", margin=0.2, mining="batch_hard", squared=False, reduction="mean"))
  c.metrics = ()
  c.optimizer = optimizer_config("adam", 1e-3, schedule="constant")
  c.train = ml_collections.ConfigDict(dict(
      batch_size=256, num_epochs=2, num_steps=0, log_every=50, eval_every=0,
      checkpoint_every=0, max_checkpoints=1, progress=True))
  c.eval = ml_collections.ConfigDict(dict(split="test", test_split="test", batch_size=1000))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
