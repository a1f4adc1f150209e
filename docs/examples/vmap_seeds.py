"""Train several seeds at once: jax.vmap over the init key, using dlcore as a library.

The whole training run (init, then a lax.scan of optimizer steps) is a pure function of the
PRNG key, so `jax.vmap(train)(keys)` trains one model per key in a single compiled program: the
seeds share every batch and differ only in their initial weights. Seed i of the vmapped run is
the same computation as `train(keys[i])` alone, which we check.

Run: python docs/examples/vmap_seeds.py   (a few seconds on a CPU)
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcore import losses
from dlcore.data import load_dataset
from dlcore.models import build_model
from dlcore.optim import build_optimizer

NUM_SEEDS = 4
STEPS = 150
BATCH = 64
MIN_TEST_ACCURACY = 0.9


def digits():
  """sklearn's bundled digits: (train x, train y, test x, test y), x flattened to [0, 1]."""
  data = load_dataset(ml_collections.ConfigDict(dict(name="digits", seed=0)))
  flat = lambda s: np.asarray(data.split(s)["inputs"], np.float32).reshape(-1, 64) / 255.0
  return (flat("train"), data.split("train")["label"], flat("test"), data.split("test")["label"],
          data.info.num_classes)


def main() -> dict:
  x_train, y_train, x_test, y_test, num_classes = digits()
  model = build_model(ml_collections.ConfigDict(dict(name="mlp", features=(64,))), num_classes)
  opt_cfg = ml_collections.ConfigDict(dict(name="adam", learning_rate=3e-3))
  tx, _ = build_optimizer(opt_cfg, total_steps=STEPS)
  # One fixed batch order, shared by every seed: (STEPS, BATCH) row indices.
  order = np.random.default_rng(0).integers(0, len(x_train), (STEPS, BATCH))
  x_train, y_train = jnp.asarray(x_train), jnp.asarray(y_train)

  def init(key):
    return model.init(key, x_train[:1])["params"]

  def loss_fn(params, x, y):
    logits = model.apply({"params": params}, x)
    return losses.softmax_cross_entropy(logits, y, reduction="mean")

  def train(key, order):
    """Everything that depends on the seed: init, STEPS Adam steps, test accuracy."""
    params = initial = init(key)

    def step(carry, idx):
      params, opt_state = carry
      loss, grads = jax.value_and_grad(loss_fn)(params, x_train[idx], y_train[idx])
      updates, opt_state = tx.update(grads, opt_state, params)
      return (jax.tree.map(jnp.add, params, updates), opt_state), loss

    (params, _), train_losses = jax.lax.scan(step, (params, tx.init(params)), order)
    accuracy = jnp.mean(model.apply({"params": params}, x_test).argmax(-1) == y_test)
    return initial, params, train_losses, accuracy

  keys = jax.random.split(jax.random.key(0), NUM_SEEDS)
  # vmap over the keys only (in_axes None: every seed sees the same batches).
  inits, params, train_losses, accuracy = jax.jit(jax.vmap(train, in_axes=(0, None)))(keys, order)

  chex.assert_shape(train_losses, (NUM_SEEDS, STEPS))
  chex.assert_shape(accuracy, (NUM_SEEDS,))
  for leaf, single in zip(jax.tree.leaves(params), jax.tree.leaves(jax.eval_shape(init, keys[0]))):
    chex.assert_shape(leaf, (NUM_SEEDS, *single.shape))  # a leading seed axis on every leaf

  # N different initialisations: no two seeds share their first-layer weights.
  kernels = np.asarray(inits["hidden_0"]["kernel"]).reshape(NUM_SEEDS, -1)
  for i in range(NUM_SEEDS):
    for j in range(i):
      assert not np.allclose(kernels[i], kernels[j]), (i, j)

  # Every seed learns: the loss falls and the test accuracy clears the bar.
  train_losses, accuracy = np.asarray(train_losses), np.asarray(accuracy)
  assert (train_losses[:, -10:].mean(1) < 0.5 * train_losses[:, :10].mean(1)).all(), train_losses
  assert (accuracy >= MIN_TEST_ACCURACY).all(), accuracy

  # Seed 1 of the vmapped run is the single run of keys[1] (up to float32 rounding: vmapped
  # matrix products may sum in another order).
  single_init, single_params, single_losses, single_accuracy = jax.jit(train)(keys[1], order)
  chex.assert_trees_all_close(jax.tree.map(lambda p: p[1], inits), single_init, rtol=1e-6)
  chex.assert_trees_all_close(jax.tree.map(lambda p: p[1], params), single_params, atol=2e-4,
                              rtol=1e-3)
  chex.assert_trees_all_close(train_losses[1], single_losses, atol=1e-4, rtol=1e-4)
  assert abs(float(single_accuracy) - accuracy[1]) <= 1.0 / len(y_test) + 1e-6

  result = {"accuracy": accuracy.tolist(), "mean": float(accuracy.mean()),
            "std": float(accuracy.std(ddof=1))}
  print(f"{NUM_SEEDS} seeds trained at once: test accuracy {result['mean']:.3f} "
        f"+- {result['std']:.3f} (each {', '.join(f'{a:.3f}' for a in accuracy)})")
  return result


if __name__ == "__main__":
  main()
