"""Per-example gradients with jax.vmap(jax.grad(...)), using dlcore as a library (no launcher).

A dlcore model and loss are ordinary JAX functions of (params, inputs), so the per-example
gradient is the gradient of the loss of one example, vmapped over the batch. We check that the
per-example gradients average to the batch gradient, then clip each example's gradient to
norm C before averaging: the core of DP-SGD (which then adds Gaussian noise of scale sigma C/B).

Run: python docs/examples/per_example_grads.py   (a few seconds on a CPU)
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

BATCH = 32
CLIP_NORM = 4.5


def digits_batch(n: int):
  """The first `n` training images of sklearn's bundled 8x8 digits, flattened to 64 float32
  features in [0, 1], and their labels."""
  data = load_dataset(ml_collections.ConfigDict(dict(name="digits", seed=0)))
  train = data.split("train")
  x = np.asarray(train["inputs"][:n], np.float32).reshape(n, -1) / 255.0  # (n, 64)
  return jnp.asarray(x), jnp.asarray(train["label"][:n]), data.info.num_classes


def main() -> dict:
  x, y, num_classes = digits_batch(BATCH)
  model = build_model(ml_collections.ConfigDict(dict(name="mlp", features=(32,))), num_classes)
  params = jax.jit(model.init)(jax.random.key(0), x)["params"]

  def loss_fn(params, inputs, labels):
    """Mean softmax cross-entropy of a batch: inputs (B, 64), labels (B,)."""
    logits = model.apply({"params": params}, inputs)
    return losses.softmax_cross_entropy(logits, labels, reduction="mean")

  # One example is a batch of one: the MLP wants a batch axis, so add it with [None]. (Calling
  # the model on an unbatched (64,) example fails its chex entry check, which says so.)
  def example_loss(params, features, label):
    return loss_fn(params, features[None], label[None])

  @jax.jit
  def analyse(params, x, y):
    grads = jax.vmap(jax.grad(example_loss), in_axes=(None, 0, 0))(params, x, y)
    batch_grad = jax.grad(loss_fn)(params, x, y)
    # Per-example gradient norms over all parameters; clip each example to norm <= C, average.
    norms = global_norms(grads)
    scale = jnp.minimum(1.0, CLIP_NORM / (norms + 1e-12))
    clipped = jax.tree.map(lambda g: g * scale.reshape((-1,) + (1,) * (g.ndim - 1)), grads)
    clipped_mean = jax.tree.map(lambda g: g.mean(0), clipped)
    return grads, batch_grad, norms, global_norms(clipped), clipped_mean

  grads, batch_grad, norms, clipped_norms, clipped_mean = analyse(params, x, y)

  # Every leaf gains a leading batch axis: (B, *param.shape).
  for g, p in zip(jax.tree.leaves(grads), jax.tree.leaves(params)):
    chex.assert_shape(g, (BATCH, *p.shape))
  # The batch loss is the mean of the example losses, so its gradient is the mean gradient.
  mean_grad = jax.tree.map(lambda g: np.asarray(g).mean(axis=0), grads)
  chex.assert_trees_all_close(mean_grad, batch_grad, rtol=1e-4, atol=1e-6)
  chex.assert_shape([norms, clipped_norms], (BATCH,))
  assert np.all(np.asarray(clipped_norms) <= CLIP_NORM * (1 + 1e-5)), clipped_norms
  chex.assert_trees_all_equal_shapes(clipped_mean, params)  # ready for an optimizer update

  # The chex entry check: forgetting the batch axis is a readable error, not a shape mystery.
  try:
    model.apply({"params": params}, x[0])
  except AssertionError as err:
    assert "x[None]" in str(err), err
  else:
    raise AssertionError("the MLP accepted an unbatched input")

  norms = np.asarray(norms)
  result = {"max_norm": float(norms.max()), "min_norm": float(norms.min()),
            "clipped_fraction": float(np.mean(norms > CLIP_NORM))}
  print(f"per-example gradient norms in [{result['min_norm']:.3f}, {result['max_norm']:.3f}]; "
        f"{result['clipped_fraction']:.0%} clipped at C={CLIP_NORM}; mean == batch gradient")
  return result


def global_norms(per_example_tree) -> jnp.ndarray:
  """(B,) the norm of each example's gradient over all parameters (leaves (B, ...))."""
  squares = [jnp.sum(g.reshape(g.shape[0], -1)**2, axis=1)
             for g in jax.tree.leaves(per_example_tree)]
  return jnp.sqrt(sum(squares))


if __name__ == "__main__":
  main()
