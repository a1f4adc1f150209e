"""Exercise 002 §11.2.7 (triplet part): triplet loss (LOSS-9, batch-hard mining, margin 0.2) for
image retrieval on MNIST. A SimpleCNN maps each image to a 32-d embedding, L2-normalised in the
loss; retrieval = the nearest other test images by Euclidean distance on those embeddings.

Writes metrics.jsonl (train/eval/test triplet loss, then a second 'test' event with recall@1,
recall@5 over all 10,000 test images as queries against the other 9,999) and plots/.

Command:  DLCORE_DATA_DIR=../shared/data python -m launch.train \
            --config configs/mnist_triplet.py --workdir runs/mnist_triplet
Expected: PENDING
Time:     PENDING
Curriculum: LOSS-9, ARC-6.
"""

import ml_collections


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
  c.optimizer = ml_collections.ConfigDict(dict(
      name="adam", learning_rate=1e-3, grad_clip_norm=0.0,
      schedule=ml_collections.ConfigDict(dict(name="constant"))))
  c.train = ml_collections.ConfigDict(dict(
      batch_size=256, num_epochs=2, num_steps=0, log_every=50, eval_every=0,
      checkpoint_every=0, max_checkpoints=1, progress=True))
  c.eval = ml_collections.ConfigDict(dict(split="test", test_split="test", batch_size=1000))
  c.mesh = ml_collections.ConfigDict(dict(num_devices=0))
  return c
