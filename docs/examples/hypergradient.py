"""Differentiate through optimizer steps: the hypergradient d(loss after training)/d(learning rate).

dlcore's optimizers are Optax chains that end by scaling the update by the learning rate, so with
a constant schedule the update at learning rate lr is lr times the update built with
learning_rate=1.0. Building the optimizer once at 1.0 and multiplying by lr makes the learning
rate an ordinary differentiable argument of the training step.

1. On a quadratic L(w) = 1/2 sum_i a_i (w_i - w*_i)^2 one SGD step gives, with e = w0 - w*,
     L(w1) = 1/2 sum_i a_i (1 - lr a_i)^2 e_i^2,   dL(w1)/dlr = -sum_i a_i^2 e_i^2 (1 - lr a_i),
   which we compare with jax.grad and with central finite differences (dlcore.testing), and
   the best step lr* = sum a^2 e^2 / sum a^3 e^2 that hypergradient descent finds.
2. On a dlcore MLP, the validation loss after 10 unrolled momentum steps on digits: its
   hypergradient matches a finite difference, and a few hypergradient steps on log(lr) lower it.

Run: python docs/examples/hypergradient.py   (a few seconds on a CPU)
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcore import losses
from dlcore import testing as dlcore_testing
from dlcore.data import load_dataset
from dlcore.models import build_model
from dlcore.optim import build_optimizer


def unit_lr_optimizer(name: str, **kwargs):
  """dlcore's optimizer `name` at learning_rate 1.0 (constant schedule): update(lr) = lr * this."""
  cfg = ml_collections.ConfigDict(dict(name=name, learning_rate=1.0, **kwargs))
  return build_optimizer(cfg, total_steps=1)[0]


def quadratic() -> dict:
  a = jnp.asarray([0.5, 1.0, 2.0, 4.0])
  w_star = jnp.asarray([1.0, -2.0, 0.5, 3.0])
  w0 = jnp.zeros(4)
  e = w0 - w_star
  loss = lambda w: 0.5 * jnp.sum(a * (w - w_star)**2)
  tx = unit_lr_optimizer("sgd")

  def loss_after_one_step(lr):
    updates, _ = tx.update(jax.grad(loss)(w0), tx.init(w0), w0)
    return loss(w0 + lr * updates)

  # The factoring claim, checked: the optimizer built at lr = 0.3 makes 0.3 x the unit update.
  g = jax.grad(loss)(w0)
  tx_03 = build_optimizer(ml_collections.ConfigDict(dict(name="sgd", learning_rate=0.3)), 1)[0]
  chex.assert_trees_all_close(tx_03.update(g, tx_03.init(w0), w0)[0],
                              0.3 * tx.update(g, tx.init(w0), w0)[0], rtol=1e-6)

  lr = 0.1
  hypergrad = jax.grad(loss_after_one_step)(lr)
  closed_form = -jnp.sum(a**2 * e**2 * (1 - lr * a))
  chex.assert_trees_all_close(hypergrad, closed_form, rtol=1e-5)
  # dlcore.testing compares jax.grad with central finite differences in float64.
  dlcore_testing.check_grads(loss_after_one_step, (jnp.float32(lr),))

  # L(w1) is quadratic in lr with curvature sum a^3 e^2 (a second jax.grad gives it), so
  # hypergradient descent with step 1 / (2 x curvature) converges to the best step lr*.
  lr_star = float(jnp.sum(a**2 * e**2) / jnp.sum(a**3 * e**2))
  curvature = jax.grad(jax.grad(loss_after_one_step))(lr)
  chex.assert_trees_all_close(curvature, jnp.sum(a**3 * e**2), rtol=1e-5)
  step = jax.jit(lambda lr: lr - 0.5 / curvature * jax.grad(loss_after_one_step)(lr))
  lr_fit = jnp.float32(0.05)
  for _ in range(30):
    lr_fit = step(lr_fit)
  assert abs(float(lr_fit) - lr_star) < 1e-4 * lr_star, (float(lr_fit), lr_star)
  assert abs(float(jax.grad(loss_after_one_step)(lr_star))) < 1e-3
  return {"hypergradient": float(hypergrad), "closed_form": float(closed_form),
          "lr_star": lr_star, "lr_fit": float(lr_fit)}


def mlp_on_digits(steps: int = 10, batch: int = 64) -> dict:
  data = load_dataset(ml_collections.ConfigDict(dict(name="digits", seed=0)))
  flat = lambda s: jnp.asarray(np.asarray(data.split(s)["inputs"], np.float32).reshape(-1, 64)
                               / 255.0)
  x, y = flat("train"), jnp.asarray(data.split("train")["label"])
  x_val, y_val = flat("test"), jnp.asarray(data.split("test")["label"])
  model = build_model(ml_collections.ConfigDict(dict(name="mlp", features=(32,))),
                      data.info.num_classes)
  params0 = jax.jit(model.init)(jax.random.key(0), x[:1])["params"]
  tx = unit_lr_optimizer("momentum", momentum=0.9)
  batches = np.random.default_rng(0).integers(0, len(x), (steps, batch))

  def loss_fn(params, xb, yb):
    return losses.softmax_cross_entropy(model.apply({"params": params}, xb), yb, reduction="mean")

  def validation_loss_after_training(log_lr):
    """Train `steps` momentum steps from params0 at lr = exp(log_lr); the validation loss."""
    lr = jnp.exp(log_lr)

    def step(carry, idx):
      params, opt_state = carry
      grads = jax.grad(loss_fn)(params, x[idx], y[idx])
      updates, opt_state = tx.update(grads, opt_state, params)
      return (jax.tree.map(lambda p, u: p + lr * u, params, updates), opt_state), None

    (params, _), _ = jax.lax.scan(step, (params0, tx.init(params0)), batches)
    return loss_fn(params, x_val, y_val)

  value_and_hypergrad = jax.jit(jax.value_and_grad(validation_loss_after_training))
  value = jax.jit(validation_loss_after_training)
  log_lr = jnp.log(jnp.float32(0.01))
  start, hypergrad = value_and_hypergrad(log_lr)
  h = 0.05  # a central difference in log(lr), float32: loose tolerance
  finite_difference = (value(log_lr + h) - value(log_lr - h)) / (2 * h)
  chex.assert_trees_all_close(hypergrad, finite_difference, rtol=0.05, atol=1e-3)
  assert float(hypergrad) < 0, "from a small lr, a larger one should lower the validation loss"

  for _ in range(5):  # hypergradient descent on log(lr)
    loss_now, g = value_and_hypergrad(log_lr)
    log_lr = log_lr - 0.5 * g / (jnp.abs(g) + 1e-8)  # sign steps: x e^{+-0.5} per step
  final = value(log_lr)
  assert float(final) < float(start) - 0.1, (float(start), float(final))
  return {"start_loss": float(start), "final_loss": float(final),
          "final_lr": float(jnp.exp(log_lr)), "hypergradient": float(hypergrad),
          "finite_difference": float(finite_difference)}


def main() -> dict:
  q = quadratic()
  print(f"quadratic: dL/dlr = {q['hypergradient']:.5f} (closed form {q['closed_form']:.5f}); "
        f"hypergradient descent finds lr = {q['lr_fit']:.4f} (best {q['lr_star']:.4f})")
  m = mlp_on_digits()
  print(f"MLP on digits: dL_val/dlog(lr) = {m['hypergradient']:.4f} (finite difference "
        f"{m['finite_difference']:.4f}); 5 hypergradient steps: lr 0.01 -> {m['final_lr']:.3f}, "
        f"validation loss {m['start_loss']:.3f} -> {m['final_loss']:.3f}")
  return {"quadratic": q, "mlp": m}


if __name__ == "__main__":
  main()
