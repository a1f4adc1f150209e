"""Sparse node features: a [N, F] matrix kept as its non-zero entries (COO), and the layers'
linear maps over it. Cora's bag-of-words features are 1.3% non-zero, so X W by gathering rows
of W for the 49,216 entries is cheaper than the dense product, and dropout on X needs random
bits for the non-zero entries only (Kipf & Welling's sparse dropout: a zero stays zero whether
it is dropped or not, so this is dense dropout in distribution, without drawing 3.9 M bits a
step).
"""

from __future__ import annotations

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from dlcore.nn.dropout import Dropout


@flax.struct.dataclass
class SparseMatrix:
  """A [rows, cols] matrix as the (row, col, value) of its non-zero entries."""
  rows: jax.Array  # [nnz] int32
  cols: jax.Array  # [nnz] int32
  values: jax.Array  # [nnz] float32
  shape: tuple[int, int] = flax.struct.field(pytree_node=False)

  @classmethod
  def from_dense(cls, x) -> "SparseMatrix":
    x = np.asarray(x, np.float32)
    rows, cols = np.nonzero(x)
    return cls(jnp.asarray(rows, jnp.int32), jnp.asarray(cols, jnp.int32),
               jnp.asarray(x[rows, cols]), tuple(int(d) for d in x.shape))

  def matmul(self, w: jax.Array) -> jax.Array:
    """X @ w, [rows, d]."""
    return jax.ops.segment_sum(self.values[:, None] * w[self.cols], self.rows, self.shape[0],
                               indices_are_sorted=True)

  def todense(self) -> jax.Array:
    return jnp.zeros(self.shape, self.values.dtype).at[self.rows, self.cols].add(self.values)


def linear(module: nn.Module, x, features: int, name: str = "kernel") -> jax.Array:
  """x @ W for a dense array or a `SparseMatrix` x, W [F, features] a Glorot-uniform parameter
  of `module` (call from inside its compact method)."""
  kernel = module.param(name, nn.initializers.glorot_uniform(), (x.shape[1], features))
  return x.matmul(kernel) if isinstance(x, SparseMatrix) else x @ kernel


class FeatureDropout(nn.Module):
  """Dropout of a dense array or of a `SparseMatrix`'s stored values."""
  rate: float

  @nn.compact
  def __call__(self, x, train: bool = False):
    if isinstance(x, SparseMatrix):
      return x.replace(values=Dropout(self.rate, name="dropout")(x.values, train))
    return Dropout(self.rate, name="dropout")(x, train)
