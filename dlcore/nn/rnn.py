"""Recurrent layers over time (curriculum LAY-41..43, ARC-17..20): one direction, bidirectional,
stacked, on batch-first (B, T, F) inputs with per-example lengths.

- `Recurrence` runs one cell over time with `nn.scan` (BPTT: the gradient flows back through
  every step; LAY-43). Steps t >= length[b] are padding: they leave the carry unchanged and
  output 0, so padding changes neither the outputs nor the final state. Run `reverse=True`, the
  scan goes from t = T−1 down to 0; since padded steps keep the zero initial state, the backward
  direction effectively starts at each sequence's true end t = length[b] − 1.
- The initial state is h_0 = 0 (c_0 = 0), under `stop_gradient` (001 `SimpleLSTM`'s
  `.detach()`, BP-6), unless a carry is passed in; a passed carry is also stop-gradiented, which
  is truncated BPTT: a language model keeps the final carry of batch k as the initial carry of
  batch k+1 while gradients stop at the batch boundary.
- `Bidirectional` (LAY-41): h_t = [→h_t ; ←h_t], the forward and backward outputs concatenated.
- `StackedRNN` (LAY-42): `num_layers` of either, with dropout between layers (not after the
  last), returning all outputs and each layer's final carry.
- `last_by_length(outputs, lengths)`: the output at each example's last real step,
  outputs[b, length[b] − 1] (001's `out[:, -1, :]` for unpadded batches).
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcore.nn.recurrent import make_cell


def sequence_mask(lengths: jnp.ndarray, max_len: int) -> jnp.ndarray:
  """(B, T) bool, True at steps t < length[b]."""
  return jnp.arange(max_len)[None, :] < jnp.asarray(lengths)[:, None]


def last_by_length(outputs: jnp.ndarray, lengths: jnp.ndarray) -> jnp.ndarray:
  """outputs[b, length[b] − 1] for outputs (B, T, H): the readout of the last real step."""
  idx = jnp.clip(jnp.asarray(lengths, jnp.int32) - 1, 0, outputs.shape[1] - 1)
  return jnp.take_along_axis(outputs, idx[:, None, None], axis=1)[:, 0]


def _scan_step(cell, carry, inputs):
  xp_t, valid_t = inputs
  new_carry, h = cell(carry, xp_t)
  keep = lambda new, old: jnp.where(valid_t[:, None], new, old)
  return jax.tree.map(keep, new_carry, carry), jnp.where(valid_t[:, None], h, 0.0)


class Recurrence(nn.Module):
  """One cell (`cell` in 'rnn'/'lstm'/'gru', `features` units, `cell_options`) over time."""
  cell: str
  features: int
  reverse: bool = False
  cell_options: Any = ()  # ((name, value), ...): hashable cell options

  @nn.compact
  def __call__(self, x: jnp.ndarray, lengths: jnp.ndarray | None = None,
               initial_carry: Any = None) -> tuple[jnp.ndarray, Any]:
    """(outputs (B, T, H), final carry) of x (B, T, F); lengths (B,) default T."""
    b, t = x.shape[:2]
    cell = make_cell(self.cell, self.features, name="cell", **dict(self.cell_options))
    lengths = jnp.full((b,), t, jnp.int32) if lengths is None else lengths
    valid = sequence_mask(lengths, t)
    # padded steps read zeros, so even NaN padding cannot reach the gradients
    xp = cell.project(jnp.where(valid[..., None], x, 0.0))
    carry = cell.zero_carry(b, xp.dtype) if initial_carry is None else initial_carry
    carry = jax.lax.stop_gradient(carry)
    scan = nn.scan(_scan_step, variable_broadcast="params", split_rngs={"params": False},
                   in_axes=1, out_axes=1, reverse=self.reverse)
    carry, outputs = scan(cell, carry, (xp, valid))
    return outputs, carry


class Bidirectional(nn.Module):
  """LAY-41: forward and backward `Recurrence`s, outputs concatenated (B, T, 2H); the final carry
  is the pair (forward carry, backward carry)."""
  cell: str
  features: int
  cell_options: Any = ()

  @nn.compact
  def __call__(self, x, lengths=None, initial_carry=None):
    fw_carry, bw_carry = (None, None) if initial_carry is None else initial_carry
    fw, fw_carry = Recurrence(self.cell, self.features, False, self.cell_options,
                              name="forward")(x, lengths, fw_carry)
    bw, bw_carry = Recurrence(self.cell, self.features, True, self.cell_options,
                              name="backward")(x, lengths, bw_carry)
    return jnp.concatenate([fw, bw], axis=-1), (fw_carry, bw_carry)


class StackedRNN(nn.Module):
  """LAY-42: `num_layers` recurrent layers (bidirectional or not), dropout `dropout` between
  layers in training. Returns (top outputs (B, T, H or 2H), tuple of per-layer final carries)."""
  cell: str
  features: int
  num_layers: int = 1
  bidirectional: bool = False
  dropout: float = 0.0
  cell_options: Any = ()

  @nn.compact
  def __call__(self, x, lengths=None, train: bool = False,
               initial_carries: Sequence[Any] | None = None):
    carries = []
    for layer in range(self.num_layers):
      if layer > 0 and self.dropout > 0:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
      init = None if initial_carries is None else initial_carries[layer]
      if self.bidirectional:
        x, carry = Bidirectional(self.cell, self.features, self.cell_options,
                                 name=f"layer{layer}")(x, lengths, init)
      else:
        x, carry = Recurrence(self.cell, self.features, False, self.cell_options,
                              name=f"layer{layer}")(x, lengths, init)
      carries.append(carry)
    return x, tuple(carries)


def zero_carries(cell: str, features: int, num_layers: int, batch: int) -> tuple:
  """The zero initial carries of a unidirectional `StackedRNN` (h_0 = 0, and c_0 = 0 for an
  LSTM), one per layer: what a language model starts an epoch or a generation from."""
  zero = jnp.zeros((batch, features), jnp.float32)
  one = (zero, zero) if cell == "lstm" else zero
  return tuple(one for _ in range(num_layers))
