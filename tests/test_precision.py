"""Mixed precision: `model.dtype='bfloat16'` computes in bfloat16 with float32 parameters,
optimizer state and loss, and trains a tiny GPT and SimpleCNN about as float32 does."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.models import build_model
from dlcore.train import loop
from experiments import make_task
from tests.test_sequence_tasks import SHAKESPEARE_LIKE
from tests.test_transformer_tasks import gpt_config


def test_bfloat16_gpt_keeps_float32_parameters_and_loss(tmp_path):
  gpt = build_model({"name": "gpt", "vocab_size": 11, "num_layers": 1, "num_heads": 2,
                     "d_model": 16, "max_len": 8, "dtype": "bfloat16"}, 11)
  tokens = jnp.zeros((2, 8), jnp.int32)
  variables = gpt.init(jax.random.key(0), tokens)
  assert {x.dtype for x in jax.tree.leaves(variables)} == {np.dtype(np.float32)}
  (logits, _), inner = gpt.apply(variables, tokens, capture_intermediates=True)
  assert logits.dtype == np.float32
  ffn = inner["intermediates"]["block_0"]["ffn"]["dense_1"]["__call__"][0]
  assert ffn.dtype == jnp.bfloat16.dtype  # the matmuls run in bfloat16
  # The bfloat16 gradient points the float32 way (cosine > 0.99) for the same float32 params.
  f32 = build_model({"name": "gpt", "vocab_size": 11, "num_layers": 1, "num_heads": 2,
                     "d_model": 16, "max_len": 8}, 11)
  tokens = jax.random.randint(jax.random.key(2), (4, 8), 0, 11)

  def grads(model):
    def loss(p):
      logits, _ = model.apply(p, tokens[:, :-1])
      return -jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[:, 1:, None], -1).mean()
    return np.concatenate([np.ravel(g) for g in jax.tree.leaves(jax.grad(loss)(variables))])
  a, b = grads(gpt), grads(f32)
  assert a.dtype == np.float32 and a @ b / np.linalg.norm(a) / np.linalg.norm(b) > 0.99
  # Trained through the loop: the master parameters stay float32.
  text = tmp_path / "corpus.txt"
  text.write_text(SHAKESPEARE_LIKE)
  c = gpt_config(text, steps=6)
  c.model.dtype = "bfloat16"
  state, result = loop.run(make_task(c), tmp_path / "bf16")
  assert {x.dtype for x in jax.tree.leaves(state.parts["model"].params)} == {np.dtype(np.float32)}
  assert np.isfinite(result["test"]["nats_per_token"])


def test_bfloat16_simple_cnn_matches_float32_closely():
  x = jax.random.normal(jax.random.key(1), (4, 28, 28, 1))
  outs = {}
  for dtype in ("float32", "bfloat16"):
    cnn = build_model({"name": "simple_cnn", "dtype": dtype, "batch_norm": True}, 10)
    v = cnn.init(jax.random.key(0), x)
    outs[dtype] = np.asarray(cnn.apply(v, x), np.float32)
  assert outs["bfloat16"].dtype == np.float32
  scale = np.abs(outs["float32"]).max()
  assert np.abs(outs["bfloat16"] - outs["float32"]).max() < 0.05 * scale
  assert np.abs(outs["bfloat16"] - outs["float32"]).max() > 0  # it did compute in bfloat16
