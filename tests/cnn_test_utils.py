"""Helpers shared by the CNN model tests: rbg keys, eval_shape variable shapes, variables filled
in NumPy without compiling a random init, and one jitted SGD step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.nn import count_params

EPS = 1e-5  # BatchNorm epsilon
# XLA:CPU compiles a whole network about twice as fast at optimisation level 0; same results.
FAST_COMPILE = {"xla_backend_optimization_level": 0}


def rbg_key(seed):
  """A PRNG key of the rbg implementation: compiles faster on CPU; the values do not matter."""
  return jax.random.key(seed, impl="rbg")


tree_size = count_params  # number of scalars in a tree of arrays or shapes (dlcore.nn)


def init_shapes(model, x, train=False):
  """eval_shape of `model.init` on `x` (an array or a ShapeDtypeStruct): no compute."""
  return jax.eval_shape(lambda x: model.init({"params": rbg_key(0), "dropout": rbg_key(1)}, x,
                                             train=train), x)


def filled_variables(model, x, seed=0, bias_std=0.0):
  """The params and batch_stats shapes of `model` (eval_shape) filled in NumPy: He-normal
  kernels, BN scale / running var 1, running mean 0, biases 0 or, with `bias_std`, N(0, bias_std^2)
  except BatchNorm's (modules named bn*). Avoids compiling the random init."""
  rng = np.random.default_rng(seed)

  def fill(path, s):
    name = path[-1].key
    if name in ("scale", "var"):
      return np.ones(s.shape, np.float32)
    if name == "mean" or (name == "bias" and (not bias_std or "bn" in path[-2].key)):
      return np.zeros(s.shape, np.float32)
    std = bias_std if name == "bias" else np.sqrt(2 / np.prod(s.shape[:-1]))
    return (rng.standard_normal(s.shape) * std).astype(np.float32)

  shapes = init_shapes(model, x)
  return {c: jax.tree_util.tree_map_with_path(fill, shapes[c])
          for c in ("params", "batch_stats") if c in shapes}


def sgd_losses(model, x, y, lr=0.05):
  """(loss before, loss after one jitted SGD step theta <- theta - lr grad on (x, y), every param
  changed, every BN statistic changed), from `filled_variables`."""
  variables = filled_variables(model, x)

  def step(params, stats):
    def loss_fn(p):
      logits, new = model.apply({"params": p, "batch_stats": stats}, x, train=True,
                                mutable=["batch_stats"], rngs={"dropout": rbg_key(1)})
      logp = jax.nn.log_softmax(logits)
      return -jnp.take_along_axis(logp, y[:, None], axis=1).mean(), new["batch_stats"]
    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), stats, loss

  params, stats = variables["params"], variables["batch_stats"]
  compiled = jax.jit(step).lower(params, stats).compile(FAST_COMPILE)
  params1, stats1, loss0 = compiled(params, stats)
  _, _, loss1 = compiled(params1, stats1)
  return float(loss0), float(loss1), all_changed(params, params1), all_changed(stats, stats1)


def all_changed(before, after):
  """True when every array of the tree `after` differs somewhere from `before`."""
  changed = jax.tree.map(lambda u, v: bool(np.any(np.asarray(u) != np.asarray(v))), before, after)
  return all(jax.tree.leaves(changed))
