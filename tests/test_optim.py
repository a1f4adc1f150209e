"""Each registered optimizer vs an independent step-by-step NumPy implementation of its formula
(curriculum §6a OPT-1..9), for 100 steps on a quadratic and on a small MLP."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from dlcore.optim import build_optimizer, ema_momentum

STEPS = 100


# ---- NumPy reference formulas (flat float64 vectors; `mask` = 1 where weight decay applies) ----

def np_optimizer(name, lr, mask, beta=0.9, b1=0.9, b2=0.999, eps=1e-8, wd=1e-2, rho=0.9):
  state = {"t": 0, "v": None, "m": None, "s": None}

  def step(theta, g):
    st = state
    st["t"] += 1
    t = st["t"]
    zero = np.zeros_like(theta)
    v = zero if st["v"] is None else st["v"]
    m = zero if st["m"] is None else st["m"]
    s = zero if st["s"] is None else st["s"]
    if name == "sgd":                       # θ ← θ − αg
      theta = theta - lr * g
    elif name == "ema_momentum":            # v = βv + (1−β)g; θ ← θ − αv
      v = beta * v + (1 - beta) * g
      theta = theta - lr * v
    elif name == "momentum":                # 004 §3.3.1: v = βv − α∇J; θ = θ + v
      v = beta * v - lr * g
      theta = theta + v
    elif name == "nesterov":                # u = βu + g; θ ← θ − α(g + βu)
      v = beta * v + g
      theta = theta - lr * (g + beta * v)
    elif name in ("adam", "adamw"):
      m = b1 * m + (1 - b1) * g
      s = b2 * s + (1 - b2) * g * g
      mhat, shat = m / (1 - b1 ** t), s / (1 - b2 ** t)
      upd = mhat / (np.sqrt(shat) + eps)
      if name == "adamw":                   # decoupled: θ ← θ − α(m̂/(√v̂+ε) + λθ)
        upd = upd + wd * mask * theta
      theta = theta - lr * upd
    elif name == "rmsprop":                 # s = ρs + (1−ρ)g²; θ ← θ − αg/(√s + ε)
      s = rho * s + (1 - rho) * g * g
      theta = theta - lr * g / (np.sqrt(s) + eps)
    elif name == "adagrad":                 # G += g²; θ −= η g/(√G + ε)
      s = s + g * g
      theta = theta - lr * g / (np.sqrt(s) + eps)
    else:
      raise ValueError(name)
    st["v"], st["m"], st["s"] = v, m, s
    return theta

  return step


DTYPES = ["float32", "float64"]
NAMES = ["sgd", "ema_momentum", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"]


def tolerance(name, dtype):
  """1e-5. Exception: RMSProp in float32. With ρ = 0.9 its step g/(√s + ε) is nearly sign(g)
  for a component whose gradient shrinks, so float32 rounding (1e-7) grows to ~1e-4 within 100
  steps (the float64 run pins the formula to 1e-5)."""
  if name == "rmsprop" and dtype == "float32":
    return dict(rtol=2e-3, atol=2e-3)
  return dict(rtol=1e-5, atol=1e-5)


def make_cfg(name, lr, **kw):
  return ml_collections.ConfigDict(dict(name=name, learning_rate=lr, weight_decay=1e-2, **kw))


def run_jax(cfg, params, grad_fn):
  tx, _ = build_optimizer(cfg, STEPS)

  def step(_, carry):
    params, opt_state = carry
    updates, opt_state = tx.update(grad_fn(params), opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  run = jax.jit(lambda p: jax.lax.fori_loop(0, STEPS, step, (p, tx.init(p)))[0])
  return run(params)


# ---- problem 1: quadratic f(θ) = ½θᵀAθ − bᵀθ ----

def quadratic():
  rng = np.random.default_rng(0)
  q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
  a = q @ np.diag([0.5, 1.0, 1.5, 2.0, 3.0]) @ q.T
  return a, rng.normal(size=5), rng.normal(size=5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_quadratic_matches_numpy(name, dtype):
  a, b, theta0 = quadratic()
  lr = 0.05
  cfg = make_cfg(name, lr, weight_decay_mask="all")
  with jax.enable_x64(dtype == "float64"):
    aj, bj = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
    got = run_jax(cfg, jnp.asarray(theta0, dtype), lambda th: aj @ th - bj)

  step = np_optimizer(name, lr, mask=np.ones(5))
  theta = theta0.copy()
  for _ in range(STEPS):
    theta = step(theta, a @ theta - b)
  np.testing.assert_allclose(np.asarray(got), theta, **tolerance(name, dtype))
  if name != "sgd":  # it moved well away from the start, so the match is not trivial
    assert np.linalg.norm(theta - theta0) > 0.1


# ---- problem 2: MLP 3-8-1 tanh, loss = mean ½(ŷ − y)², params as a pytree ----

SHAPES = {"W1": (3, 8), "b1": (8,), "W2": (8, 1), "b2": (1,)}
ORDER = ["W1", "b1", "W2", "b2"]


def mlp_data():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(16, 3))
  y = np.sin(x.sum(1, keepdims=True))
  params = {k: rng.normal(size=s) * 0.5 for k, s in SHAPES.items()}
  return x, y, params


def flat(tree):
  return np.concatenate([np.asarray(tree[k], np.float64).ravel() for k in ORDER])


def unflat(vec):
  out, i = {}, 0
  for k in ORDER:
    n = int(np.prod(SHAPES[k]))
    out[k] = vec[i:i + n].reshape(SHAPES[k])
    i += n
  return out


def np_mlp_grad(vec, x, y):
  """Hand-written backprop (independent of JAX)."""
  p = unflat(vec)
  h = np.tanh(x @ p["W1"] + p["b1"])
  d_out = (h @ p["W2"] + p["b2"] - y) / len(x)
  d_h = (d_out @ p["W2"].T) * (1 - h * h)
  return flat({"W1": x.T @ d_h, "b1": d_h.sum(0), "W2": h.T @ d_out, "b2": d_out.sum(0)})


def jax_mlp_loss(p, x, y):
  h = jnp.tanh(x @ p["W1"] + p["b1"])
  return jnp.mean(0.5 * jnp.sum((h @ p["W2"] + p["b2"] - y) ** 2, axis=1))


def test_numpy_backprop_matches_jax_grad():
  x, y, p = mlp_data()
  g = jax.grad(jax_mlp_loss)({k: jnp.asarray(v, jnp.float32) for k, v in p.items()},
                             jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
  np.testing.assert_allclose(flat(g), np_mlp_grad(flat(p), x, y), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_mlp_matches_numpy(name, dtype):
  x, y, p0 = mlp_data()
  lr = 0.02
  with jax.enable_x64(dtype == "float64"):
    xj, yj = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    params = {k: jnp.asarray(v, dtype) for k, v in p0.items()}
    got = run_jax(make_cfg(name, lr), params, lambda p: jax.grad(jax_mlp_loss)(p, xj, yj))

  mask = flat({k: np.full(SHAPES[k], float(len(SHAPES[k]) >= 2)) for k in ORDER})  # no biases
  step = np_optimizer(name, lr, mask=mask)
  vec = flat(p0)
  for _ in range(STEPS):
    vec = step(vec, np_mlp_grad(vec, x, y))
  np.testing.assert_allclose(flat(got), vec, **tolerance(name, dtype))


# ---- closed forms ----

@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99])
def test_ema_momentum_closed_form(beta):
  """Constant g: v_k = (1 − β^k) g and θ_k = θ_0 − α Σ_{j≤k}(1 − β^j) g."""
  g = jnp.array([1.0, -2.0, 0.5])
  lr = 0.1
  tx = ema_momentum(lr, beta)
  theta = jnp.zeros(3)
  state = tx.init(theta)
  for k in range(1, 31):
    updates, state = tx.update(g, state)
    theta = optax.apply_updates(theta, updates)
    v = state[0].velocity
    np.testing.assert_allclose(v, (1 - beta ** k) * np.asarray(g), rtol=1e-5, atol=1e-7)
    total = k - beta * (1 - beta ** k) / (1 - beta)
    np.testing.assert_allclose(theta, -lr * total * np.asarray(g), rtol=1e-5, atol=1e-6)


def test_classical_momentum_is_optax_sgd_momentum():
  """OPT-6 (004 form) v = βv − α∇J, θ = θ + v gives the same iterates as optax.sgd(α, β)."""
  a, b, theta0 = quadratic()
  tx = optax.sgd(0.05, momentum=0.9)
  th = jnp.asarray(theta0, jnp.float32)
  st = tx.init(th)
  ref, v = theta0.copy(), np.zeros(5)
  for _ in range(50):
    u, st = tx.update(jnp.asarray(a, jnp.float32) @ th - jnp.asarray(b, jnp.float32), st)
    th = optax.apply_updates(th, u)
    v = 0.9 * v - 0.05 * (a @ ref - b)
    ref = ref + v
  np.testing.assert_allclose(th, ref, rtol=1e-5, atol=1e-5)


def test_adagrad_differs_from_optax_default():
  """optax.adagrad starts G at 0.1 with ε inside the root; the canonical first step is η·sign(g)."""
  g = jnp.array([0.01, -3.0])
  tx, _ = build_optimizer(make_cfg("adagrad", 1.0), 10)
  ours, _ = tx.update(g, tx.init(jnp.zeros(2)))
  np.testing.assert_allclose(ours, -np.sign(g), rtol=1e-5)
  theirs, _ = optax.adagrad(1.0).update(g, optax.adagrad(1.0).init(jnp.zeros(2)))
  assert not np.allclose(theirs, ours, rtol=1e-2)
