"""Input-shape assertions at model entry points (chex; they run at trace time, so they are free
under jit and cost microseconds eagerly). `chex.disable_asserts()` turns them off.

The usual mistake they catch is a missing batch axis: a per-example function under
`jax.vmap(jax.grad(...))` sees one example, and must call the model on `x[None]`.
"""

from __future__ import annotations

import chex
import jax.numpy as jnp

_BATCHED = frozenset(range(2, 9))  # (B, d) up to (B, d1, ..., d7)


def assert_batched(x: jnp.ndarray, model: str) -> None:
  """`x` has a leading batch axis and at least one feature axis: rank 2..8, (B, ...)."""
  chex.assert_rank(x, _BATCHED, custom_message=(
      f"{model} expects a batch of inputs (B, d1, ...) of rank >= 2; for one example of shape "
      f"(d,), e.g. inside jax.vmap, call it on x[None]"))


def assert_image_batch(x: jnp.ndarray, model: str) -> None:
  """`x` is a batch of channels-last images (B, H, W, C), or (B, H, W) for one channel."""
  chex.assert_rank(x, {3, 4}, custom_message=(
      f"{model} expects images (B, H, W, C) or (B, H, W); for one image (H, W, C) call it on "
      f"x[None]"))
