"""Activation functions by name (curriculum §1, ACT-2 .. ACT-11).

Registry `ACTIVATIONS` maps config names to elementwise functions `f(z) -> a`:

  sigmoid     ACT-3  1 / (1 + exp(-z))
  tanh        ACT-4  (e^z - e^-z) / (e^z + e^-z)
  relu        ACT-5  max(0, z)
  leaky_relu  ACT-6  z if z > 0 else 0.01 z            (alpha = 0.01, §0 item 12)
  elu         ACT-7  z if z > 0 else 1.0 (e^z - 1)     (alpha = 1.0)
  swish/silu  ACT-8  z sigmoid(z)
  gelu        ACT-9  z Phi(z), Phi the standard normal CDF (exact form, as in the seed)
  gelu_tanh   ---    0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))  (not in the seeds)
  identity    ACT-11 z (linear output; alias `linear`)
  sign        ACT-2  +1 if z >= 0 else -1  (perceptron output, eq.1 of 002 §2.1)
  step        ---    1 if z >= 0 else 0     (Heaviside; the 0/1 form of `sign`)

`sign` and `step` have zero gradient almost everywhere; they are for prediction, not training.

Not elementwise, so not in the registry: `softmax` / `log_softmax` (ACT-10, max-subtracted).
`DERIVATIVES` holds ACT-12's closed forms f'(z) for manual-backprop demos; `ACTIVATION_GUIDE`
is ACT-14's role -> activation table (ACT-13, why nonlinearity is needed, is tested).
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from dlcore.registry import Registry

Activation = Callable[[jnp.ndarray], jnp.ndarray]

ACTIVATIONS: Registry[Activation] = Registry("activation")


def sign(z: jnp.ndarray) -> jnp.ndarray:
  """ACT-2 perceptron sign: +1 if z >= 0 else -1, in z's dtype (unlike jnp.sign, sign(0) = +1)."""
  z = jnp.asarray(z)
  return jnp.where(z >= 0, 1, -1).astype(z.dtype)


def step(z: jnp.ndarray) -> jnp.ndarray:
  """Heaviside step: 1 if z >= 0 else 0, in z's dtype (the {0, 1} form of ACT-2)."""
  z = jnp.asarray(z)
  return jnp.where(z >= 0, 1, 0).astype(z.dtype)


def identity(z: jnp.ndarray) -> jnp.ndarray:
  """ACT-11 identity / linear output."""
  return z


ACTIVATIONS.add("sigmoid", jax.nn.sigmoid)
ACTIVATIONS.add("tanh", jnp.tanh)
ACTIVATIONS.add("relu", jax.nn.relu)
ACTIVATIONS.add("leaky_relu", functools.partial(jax.nn.leaky_relu, negative_slope=0.01))
ACTIVATIONS.add("elu", functools.partial(jax.nn.elu, alpha=1.0))
ACTIVATIONS.add("swish", jax.nn.silu)
ACTIVATIONS.add("silu", jax.nn.silu)
ACTIVATIONS.add("gelu", functools.partial(jax.nn.gelu, approximate=False))
ACTIVATIONS.add("gelu_tanh", functools.partial(jax.nn.gelu, approximate=True))
ACTIVATIONS.add("identity", identity)
ACTIVATIONS.add("linear", identity)
ACTIVATIONS.add("sign", sign)
ACTIVATIONS.add("step", step)


def get_activation(name: str) -> Activation:
  """The activation registered as `name`; unknown names raise `ConfigError` listing valid ones."""
  return ACTIVATIONS.get(name)


def softmax(z: jnp.ndarray, axis: int = -1) -> jnp.ndarray:
  """ACT-10 softmax(z)_k = e^{z_k} / sum_j e^{z_j}, computed as e^{z - max z} (stable at +-1000)."""
  z = jnp.asarray(z)
  e = jnp.exp(z - jax.lax.stop_gradient(z.max(axis=axis, keepdims=True)))
  return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: jnp.ndarray, axis: int = -1) -> jnp.ndarray:
  """ACT-10 in log space: z_k - logsumexp(z) = (z_k - m) - log sum_j e^{z_j - m}, m = max z."""
  z = jnp.asarray(z)
  shifted = z - jax.lax.stop_gradient(z.max(axis=axis, keepdims=True))
  return shifted - jnp.log(jnp.exp(shifted).sum(axis=axis, keepdims=True))


def sigmoid_derivative(z: jnp.ndarray) -> jnp.ndarray:
  """ACT-12 sigma'(z) = sigma(z) (1 - sigma(z)); at most 0.25 (ACT-3)."""
  s = jax.nn.sigmoid(z)
  return s * (1 - s)


def tanh_derivative(z: jnp.ndarray) -> jnp.ndarray:
  """ACT-12 tanh'(z) = 1 - tanh(z)^2."""
  return 1 - jnp.tanh(z)**2


def relu_derivative(z: jnp.ndarray) -> jnp.ndarray:
  """ACT-12 relu'(z) = 1 if z > 0 else 0 (0 at z = 0, as jax.grad gives)."""
  z = jnp.asarray(z)
  return (z > 0).astype(z.dtype)


def leaky_relu_derivative(z: jnp.ndarray, alpha: float = 0.01) -> jnp.ndarray:
  """ACT-6 leaky_relu'(z) = 1 if z > 0 else alpha."""
  z = jnp.asarray(z)
  return jnp.where(z > 0, 1.0, alpha).astype(z.dtype)


def elu_derivative(z: jnp.ndarray, alpha: float = 1.0) -> jnp.ndarray:
  """ACT-7 elu'(z) = 1 if z > 0 else alpha e^z."""
  z = jnp.asarray(z)
  return jnp.where(z > 0, 1.0, alpha * jnp.exp(z)).astype(z.dtype)


DERIVATIVES: dict[str, Activation] = {
    "sigmoid": sigmoid_derivative,
    "tanh": tanh_derivative,
    "relu": relu_derivative,
    "leaky_relu": leaky_relu_derivative,
    "elu": elu_derivative,
    "identity": jnp.ones_like,
    "linear": jnp.ones_like,
}

# ACT-14 (002 §2.3.2): role -> activation name; 'softmax' is the function above.
ACTIVATION_GUIDE: dict[str, str] = {
    "binary_output": "sigmoid",
    "gate": "sigmoid",
    "rnn_hidden": "tanh",
    "hidden": "relu",
    "dead_relu_fix": "leaky_relu",
    "smooth_negative": "elu",
    "multiclass_output": "softmax",
    "regression_output": "identity",
}
