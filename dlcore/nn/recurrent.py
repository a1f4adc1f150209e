"""Recurrent cells exactly as the seeds write them (curriculum LAY-38..40, §0 items 9 and 10).

Every gate is an affine map of the concatenation [h_{t-1}, x_t]. The matrix W of W[h, x] + b is
stored as its two blocks, W = [W_h  W_x], so that W[h, x] + b = W_h h + (W_x x + b): the input
block `project(x)` = W_x x + b runs once for all time steps (one large matmul), and only W_h h
stays inside the scan over time. The arithmetic is the seed formula.

  RNN   LAY-38  h_t = σ_h(W_h h_{t-1} + W_x x_t + b_h), σ_h = tanh by default; h_0 = 0.
                The output y_t = σ_y(W_y h_t + b_y) is the model's head (`RNNOutput`): σ_y is
                the identity in 001/002/004 and a named activation in 000 §3.1.2 (§0 item 9).
  LSTM  LAY-39  f_t = σ(W_f[h_{t-1}, x_t] + b_f)   i_t = σ(W_i[·] + b_i)   o_t = σ(W_o[·] + b_o)
                c̃_t = tanh(W_c[·] + b_c)   c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t   h_t = o_t ⊙ tanh(c_t)
                `forget_bias` initialises b_f (Jozefowicz et al. 2015 use 1; the seeds give none,
                so the default is 0). Carry (c, h).
  GRU   LAY-40  z_t = σ(W_z[h_{t-1}, x_t] + b_z)   r_t = σ(W_r[·] + b_r)
                h̃_t = tanh(W_h[r_t ⊙ h_{t-1}, x_t] + b_h)   h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
                The reset multiplies h_{t-1} BEFORE the matmul. Flax's `nn.GRUCell` differs in
                both places: h_t = (1 − z) ⊙ h̃ + z ⊙ h_{t-1} (z keeps the old state) and
                h̃ = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) (reset after the matmul), so its
                parameters do not transfer to this cell and its outputs differ (§0 item 10).

A cell is called as `cell(carry, projected_x_t) -> (new_carry, h_t)` where projected_x_t is the
time step of `cell.project(x)`; `cell.zero_carry(batch)` is h_0 = 0 (c_0 = 0 for the LSTM).
Parameters: 'input' (W_x, b: kernel (F, G·H)) and 'hidden' (W_h: kernel (H, G·H), no bias),
with the G gate blocks in the order of the formulas above (LSTM: f, i, c̃, o; GRU: z, r, h̃,
where the GRU's 'hidden' holds the z and r blocks and 'candidate' the h̃ block of W_h).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.errors import ConfigError
from dlcore.nn.activations import get_activation
from dlcore.registry import Registry

CELLS: Registry = Registry("recurrent cell")
Carry = Any


class _Cell(nn.Module):
  """Shared parameters: W_x and b ('input'), W_h ('hidden'), for `gates` blocks of H units."""
  features: int
  gates = 1  # class constants: H-sized blocks in W_x, and in W_h ahead of any reset
  hidden_gates = 1

  def setup(self):
    if int(self.features) < 1:
      raise ConfigError(f"a recurrent cell needs features >= 1, got {self.features}.")
    self.input = nn.Dense(self.gates * self.features, bias_init=self.bias_init, name="input")
    self.hidden = nn.Dense(self.hidden_gates * self.features, use_bias=False,
                           kernel_init=nn.initializers.orthogonal(), name="hidden")

  def bias_init(self, key, shape, dtype=jnp.float32):
    return jnp.zeros(shape, dtype)

  def project(self, x: jnp.ndarray) -> jnp.ndarray:
    """W_x x + b for every leading position of x (..., F) -> (..., G·H)."""
    return self.input(x)

  def zero_carry(self, batch: int, dtype=jnp.float32) -> Carry:
    return jnp.zeros((batch, self.features), dtype)

  @staticmethod
  def output(carry: Carry) -> jnp.ndarray:
    """h_t of a carry."""
    return carry


@CELLS.register("rnn")
class RNNCell(_Cell):
  """LAY-38 h_t = σ_h(W_h h_{t-1} + W_x x_t + b_h) (σ_h = `activation`, tanh in the seeds)."""
  activation: str = "tanh"

  def __call__(self, h: jnp.ndarray, xp: jnp.ndarray) -> tuple[Carry, jnp.ndarray]:
    h = get_activation(self.activation)(self.hidden(h) + xp)
    return h, h


@CELLS.register("lstm")
class LSTMCell(_Cell):
  """LAY-39, gates on [h_{t-1}, x_t]; carry (c, h); `forget_bias` initialises b_f."""
  forget_bias: float = 0.0
  gates = hidden_gates = 4

  def bias_init(self, key, shape, dtype=jnp.float32):
    h = self.features
    return jnp.zeros(shape, dtype).at[:h].set(self.forget_bias)  # block 0 is f

  def zero_carry(self, batch: int, dtype=jnp.float32) -> Carry:
    z = jnp.zeros((batch, self.features), dtype)
    return (z, z)

  @staticmethod
  def output(carry: Carry) -> jnp.ndarray:
    return carry[1]

  def __call__(self, carry: Carry, xp: jnp.ndarray) -> tuple[Carry, jnp.ndarray]:
    c, h = carry
    f, i, g, o = jnp.split(self.hidden(h) + xp, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (c, h), h


@CELLS.register("gru")
class GRUCell(_Cell):
  """LAY-40 in the seeds' convention: h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃, reset before the matmul
  (not Flax's `nn.GRUCell`; see the module docstring)."""
  gates, hidden_gates = 3, 2

  def setup(self):
    super().setup()
    # W_h of h̃ multiplies r ⊙ h_{t-1}, after the reset, so it is its own block 'candidate'.
    self.candidate = nn.Dense(self.features, use_bias=False,
                              kernel_init=nn.initializers.orthogonal(), name="candidate")

  def __call__(self, h: jnp.ndarray, xp: jnp.ndarray) -> tuple[Carry, jnp.ndarray]:
    n = self.features
    xz, xr, xh = xp[..., :n], xp[..., n:2 * n], xp[..., 2 * n:]
    hz, hr = jnp.split(self.hidden(h), 2, axis=-1)
    z = jax.nn.sigmoid(hz + xz)
    r = jax.nn.sigmoid(hr + xr)
    h_tilde = jnp.tanh(self.candidate(r * h) + xh)
    h = (1.0 - z) * h + z * h_tilde
    return h, h


def make_cell(kind: str, features: int, name: str | None = None, **options) -> _Cell:
  """The cell `kind` ('rnn', 'lstm', 'gru') with H = features and its own options
  (rnn: activation; lstm: forget_bias); an option another cell has raises a ConfigError."""
  cls = CELLS.get(kind)
  allowed = {f for f in cls.__dataclass_fields__} - {"features", "parent", "name"}
  unknown = sorted(set(options) - allowed)
  if unknown:
    raise ConfigError(f"the {kind!r} cell has no option {unknown[0]!r}; its options: "
                      f"{sorted(allowed) or 'none'}.")
  return cls(features=int(features), name=name, **options)


class RNNOutput(nn.Module):
  """LAY-38's output y_t = σ_y(W_y h_t + b_y); σ_y = `activation` ('identity' in 001/002/004 and
  for logits fed to a softmax loss; 000 §3.1.2 names a σ_y, §0 item 9)."""
  features: int
  activation: str = "identity"

  @nn.compact
  def __call__(self, h: jnp.ndarray) -> jnp.ndarray:
    return get_activation(self.activation)(nn.Dense(self.features, name="W_y")(h))
