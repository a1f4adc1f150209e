"""Normalisation layers (curriculum §2c LAY-11, LAY-12, LAY-13; §6b REG-4).

All layers are channels-last (NHWC for images, (batch, features) for dense activations; §0 item 13).

  BatchNorm          LAY-11  mu_B = 1/m sum_i x_i,  sigma2_B = 1/m sum_i (x_i - mu_B)^2  (biased)
                             y = gamma (x - mu_B) / sqrt(sigma2_B + eps) + beta,  eps = 1e-5
                             the sums run over every axis except the feature axis (for NHWC: over
                             N, H and W, so m = N H W per channel).
                             train=True: batch statistics; running averages are updated as
                               mu_run <- rho mu_run + (1 - rho) mu_B
                               var_run <- rho var_run + (1 - rho) sigma2_B   (biased, as Flax)
                             with rho = momentum = 0.99 (§0 item 15; the seeds give none).
                             train=False: y = gamma (x - mu_run) / sqrt(var_run + eps) + beta.
  LayerNorm          LAY-12  per example, over the feature axis (canonical form, Ba et al. 2016):
                             y = gamma (x - mu) / sqrt(sigma2 + eps) + beta, sigma2 biased,
                             eps = 1e-5 (configurable; the seeds give none, §0 item 18).
  LocalResponseNorm  LAY-13  AlexNet (Krizhevsky et al. 2012, §3.3), over channels c:
                             b_c = a_c / (k + alpha * sum_{j = c - n//2}^{c + (n-1)//2} a_j^2)^beta
                             k = 2, n = 5, alpha = 1e-4, beta = 0.75; channels outside [0, C) are
                             absent (zero). Convention: alpha multiplies the SUM, as in the paper
                             (and TensorFlow's tf.nn.local_response_normalization). PyTorch's
                             nn.LocalResponseNorm and Caffe multiply by alpha / n instead (the
                             mean of the squares); pass `alpha_over_n=True` for that form. For
                             odd n both sides of the window have n//2 channels (PyTorch pads
                             (n//2, (n-1)//2), which is the same for odd n).

BatchNorm and the global batch. The statistics are reductions over the batch axis, so:
  * under `jax.jit` with the batch sharded over a mesh (`NamedSharding(mesh, P('data'))`, the
    dlcore training setup) XLA/GSPMD inserts the cross-device all-reduce itself: the statistics
    are those of the whole global batch and 8 devices give the 1-device result (tested);
  * under `jax.shard_map` or `jax.pmap` each device sees only its shard; set `axis_name` to the
    mapped axis and the means are `lax.pmean`-ed over it (equal shard sizes assumed). The
    variance is the pmean of the local mean squared deviation from the GLOBAL mean, so it is the
    exact global biased variance (two-pass, no E[x^2] - E[x]^2 cancellation).

Mapping to `flax.linen.BatchNorm`: same variables (params `scale`, `bias`; `batch_stats` `mean`,
`var`, all of the feature shape) and the same update rule with `momentum`, `epsilon`, `axis_name`;
`train` is `not use_running_average`; statistics use the two-pass variance
(`use_fast_variance=False`) and are computed in float32 at least. Like Flax, the running averages
are not updated during `init`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from dlcore.errors import ConfigError
from dlcore.nn.mapped_axis import current_mapped_axis

Axes = int | Sequence[int]
Init = Callable[..., Any]


def _axes(axis: Axes, ndim: int, what: str) -> tuple[int, ...]:
  axes = (axis,) if isinstance(axis, int) else tuple(axis)
  for a in axes:
    if not -ndim <= a < ndim:
      raise ValueError(f"{what} axis {a} is out of range for a {ndim}-d input")
  return tuple(sorted({a % ndim for a in axes}))


def _stats_dtype(dtype) -> jnp.dtype:
  return jnp.promote_types(dtype, jnp.float32)


def _check_epsilon(epsilon: float, name: str) -> None:
  if not epsilon > 0:
    raise ConfigError(f"{name} epsilon={epsilon} must be > 0 (e.g. 1e-5).")


def _affine(module, y: jnp.ndarray, feature_shape, bshape) -> jnp.ndarray:
  """y * gamma + beta with the module's optional 'scale' and 'bias' parameters."""
  if module.use_scale:
    y = y * module.param("scale", module.scale_init, feature_shape,
                         module.param_dtype).reshape(bshape)
  if module.use_bias:
    y = y + module.param("bias", module.bias_init, feature_shape,
                         module.param_dtype).reshape(bshape)
  return y


class BatchNorm(nn.Module):
  """LAY-11 batch normalisation; `__call__(x, train)`. See the module docstring for the formulas.

  Attributes:
    momentum: rho of the running averages, mu_run <- rho mu_run + (1 - rho) mu_B (0.99).
    epsilon: eps in sqrt(sigma2_B + eps) (1e-5, 002 §5.2).
    axis: the feature axis/axes that keep their own statistics (-1: channels-last).
    use_scale / use_bias: learn gamma (init 1) / beta (init 0).
    axis_name: mapped axis to average the statistics over under shard_map/pmap (None under jit;
      inside `dlcore.nn.mapped_axis.mapped_axis(name)`, as in the pmap mode, that axis).
    dtype: output dtype (None: the input's); statistics are at least float32.
  """
  momentum: float = 0.99
  epsilon: float = 1e-5
  axis: Axes = -1
  use_scale: bool = True
  use_bias: bool = True
  axis_name: str | None = None
  dtype: Any = None
  param_dtype: Any = jnp.float32
  scale_init: Init = nn.initializers.ones
  bias_init: Init = nn.initializers.zeros

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    if not 0.0 <= self.momentum <= 1.0:
      raise ConfigError(f"BatchNorm momentum={self.momentum} must be in [0, 1] (e.g. 0.99).")
    _check_epsilon(self.epsilon, "BatchNorm")
    x = jnp.asarray(x)
    feature_axes = _axes(self.axis, x.ndim, "BatchNorm feature")
    reduce_axes = tuple(a for a in range(x.ndim) if a not in feature_axes)
    feature_shape = tuple(x.shape[a] for a in feature_axes)
    bshape = tuple(x.shape[a] if a in feature_axes else 1 for a in range(x.ndim))
    sdtype = _stats_dtype(x.dtype)

    ra_mean = self.variable("batch_stats", "mean", lambda: jnp.zeros(feature_shape, jnp.float32))
    ra_var = self.variable("batch_stats", "var", lambda: jnp.ones(feature_shape, jnp.float32))

    xs = x.astype(sdtype)
    axis_name = self.axis_name or current_mapped_axis()
    if train:
      mean = xs.mean(axis=reduce_axes, keepdims=True)
      if axis_name is not None:
        mean = lax.pmean(mean, axis_name)
      var = jnp.square(xs - mean).mean(axis=reduce_axes, keepdims=True)
      if axis_name is not None:
        var = lax.pmean(var, axis_name)
      if not self.is_initializing():
        rho = self.momentum
        ra_mean.value = (rho * ra_mean.value +
                         (1 - rho) * mean.reshape(feature_shape)).astype(ra_mean.value.dtype)
        ra_var.value = (rho * ra_var.value +
                        (1 - rho) * var.reshape(feature_shape)).astype(ra_var.value.dtype)
    else:
      mean = ra_mean.value.reshape(bshape).astype(sdtype)
      var = ra_var.value.reshape(bshape).astype(sdtype)

    y = (xs - mean) * lax.rsqrt(var + self.epsilon)
    return _affine(self, y, feature_shape, bshape).astype(self.dtype or x.dtype)


class LayerNorm(nn.Module):
  """LAY-12 layer normalisation over `axis` (the features) of each example:
  y = gamma (x - mu) / sqrt(sigma2 + eps) + beta, mu and biased sigma2 over `axis`; eps = 1e-5.
  Same in training and evaluation, hence `__call__(x)`. gamma, beta have the shape of `axis`."""
  epsilon: float = 1e-5
  axis: Axes = -1
  use_scale: bool = True
  use_bias: bool = True
  dtype: Any = None
  param_dtype: Any = jnp.float32
  scale_init: Init = nn.initializers.ones
  bias_init: Init = nn.initializers.zeros

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    _check_epsilon(self.epsilon, "LayerNorm")
    x = jnp.asarray(x)
    axes = _axes(self.axis, x.ndim, "LayerNorm")
    feature_shape = tuple(x.shape[a] for a in axes)
    bshape = tuple(x.shape[a] if a in axes else 1 for a in range(x.ndim))
    xs = x.astype(_stats_dtype(x.dtype))
    mean = xs.mean(axis=axes, keepdims=True)
    var = jnp.square(xs - mean).mean(axis=axes, keepdims=True)
    y = (xs - mean) * lax.rsqrt(var + self.epsilon)
    return _affine(self, y, feature_shape, bshape).astype(self.dtype or x.dtype)


def local_response_norm(x: jnp.ndarray, depth: int = 5, k: float = 2.0, alpha: float = 1e-4,
                        beta: float = 0.75, alpha_over_n: bool = False,
                        axis: int = -1) -> jnp.ndarray:
  """LAY-13 b_c = a_c / (k + alpha' sum_{j=c-n//2}^{c+(n-1)//2} a_j^2)^beta over channels `axis`,
  n = `depth`, alpha' = alpha (paper, default) or alpha / n (`alpha_over_n=True`, PyTorch/Caffe)."""
  if depth < 1:
    raise ConfigError(f"LocalResponseNorm depth={depth} must be a positive window size (e.g. 5).")
  x = jnp.asarray(x)
  x_last = jnp.moveaxis(x, axis, -1)
  sq = jnp.square(x_last.astype(_stats_dtype(x.dtype)))
  c = sq.shape[-1]
  pad = [(0, 0)] * (sq.ndim - 1) + [(depth // 2, (depth - 1) // 2)]
  sq = jnp.pad(sq, pad)
  window_sum = sum(sq[..., j:j + c] for j in range(depth))
  a = alpha / depth if alpha_over_n else alpha
  y = x_last / jnp.power(k + a * window_sum, beta)
  return jnp.moveaxis(y.astype(x.dtype), -1, axis)


class LocalResponseNorm(nn.Module):
  """LAY-13 AlexNet LRN as a module (no parameters): see `local_response_norm`.
  Defaults k = 2, n = 5, alpha = 1e-4, beta = 0.75 (paper values, alpha on the sum)."""
  depth: int = 5
  k: float = 2.0
  alpha: float = 1e-4
  beta: float = 0.75
  alpha_over_n: bool = False
  axis: int = -1

  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    return local_response_norm(x, self.depth, self.k, self.alpha, self.beta, self.alpha_over_n,
                               self.axis)
