"""`model.remat=True`: the Transformer blocks recompute their activations in the backward pass
(`jax.checkpoint` per block) with the same parameters and gradients, and less memory."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcore.models import build_model

TINY = dict(num_layers=2, num_heads=2, d_model=16)
MODELS = {
    "gpt": (dict(name="gpt", vocab_size=11, max_len=8), lambda m, v, x: m.apply(v, x)[0]),
    "transformer": (dict(name="transformer", src_vocab_size=11, max_len=8, d_ff=32),
                    lambda m, v, x: m.apply(v, x, x)),
    "bert_classifier": (dict(name="bert_classifier", vocab_size=11, max_len=8),
                        lambda m, v, x: m.apply(v, x)),
    "vit": (dict(name="vit", image_size=8, patch_size=4), lambda m, v, x: m.apply(v, x)),
}


def _setup(name: str, remat: bool):
  """(abstract or real variables, loss of the variables) of a tiny model."""
  fields, apply = MODELS[name]
  model = build_model(dict(fields, **TINY, remat=remat), 11)
  x = (jax.random.uniform(jax.random.key(1), (2, 8, 8, 1)) if name == "vit" else
       jax.random.randint(jax.random.key(1), (2, 8), 1, 11))
  args = (x, x) if name == "transformer" else (x,)
  return (lambda: jax.jit(model.init)(jax.random.key(0), *args),
          lambda v: jnp.mean(jnp.square(apply(model, v, x))))


@pytest.mark.parametrize("name", list(MODELS))
def test_remat_marks_the_backward_pass_and_keeps_parameter_paths(name):
  shapes = {}
  for remat in (False, True):
    init, loss = _setup(name, remat)
    shapes[remat] = jax.eval_shape(init)
    jaxpr = str(jax.make_jaxpr(jax.grad(loss))(shapes[remat]))
    assert ("checkpoint" in jaxpr or "remat" in jaxpr) == remat
  assert jax.tree.structure(shapes[False]) == jax.tree.structure(shapes[True])


def test_remat_gives_the_same_gradients():
  """Encoder and decoder layers (the encoder-decoder Transformer): equal parameters from the
  same key and equal gradients, with and without remat."""
  (init0, loss0), (init1, loss1) = (_setup("transformer", r) for r in (False, True))
  v0, v1 = init0(), init1()
  for a, b in zip(jax.tree.leaves(v0), jax.tree.leaves(v1)):
    np.testing.assert_array_equal(a, b)
  g0, g1 = jax.jit(jax.grad(loss0))(v0), jax.jit(jax.grad(loss1))(v1)
  for a, b in zip(jax.tree.leaves(g0), jax.tree.leaves(g1)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_remat_cuts_the_compiled_gradients_temporary_memory():
  """A 4-layer GPT on 8 x 64 tokens: XLA's memory analysis of the compiled gradient needs less
  than half the temporary bytes with remat (measured: about 1/4)."""
  def temp_bytes(remat: bool) -> int:
    gpt = build_model(dict(name="gpt", vocab_size=11, num_layers=4, num_heads=2, d_model=64,
                           max_len=64, remat=remat), 11)
    tokens = jnp.zeros((8, 64), jnp.int32)
    variables = jax.eval_shape(gpt.init, jax.random.key(0), tokens)
    loss = lambda v: jnp.mean(gpt.apply(v, tokens)[0])
    return jax.jit(jax.grad(loss)).lower(variables).compile().memory_analysis() \
        .temp_size_in_bytes
  assert temp_bytes(True) < 0.5 * temp_bytes(False)
