"""Scaled dot-product / multi-head attention, positional encodings and the GPT block against
direct NumPy formulas (LAY-24, 29..34), masks, the causal property and the KV cache."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.errors import ConfigError
from dlcore.models import build_model
from dlcore.nn.multi_head_attention import (MultiHeadAttention, SelfAttention, causal_mask,
                                            combine_masks,
                                            dot_product_attention, padding_mask)
from dlcore.nn.transformer import Embedder, sinusoidal_table


def np_softmax(z, mask=None):
  z = np.where(mask, z, -np.inf) if mask is not None else z
  m = np.max(np.where(np.isfinite(z), z, -1e30), -1, keepdims=True)
  e = np.exp(z - m)
  return e / e.sum(-1, keepdims=True)


def np_multi_head(p, xq, xkv, mask):
  """eq. 80-83 head by head: head_i = softmax(X_q W_i^Q (X_kv W_i^K)ᵀ / √d_k) X_kv W_i^V."""
  heads, weights = [], []
  h = p["query"]["kernel"].shape[1]
  for i in range(h):
    q = xq @ p["query"]["kernel"][:, i] + p["query"]["bias"][i]
    k = xkv @ p["key"]["kernel"][:, i] + p["key"]["bias"][i]
    v = xkv @ p["value"]["kernel"][:, i] + p["value"]["bias"][i]
    a = np_softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]),
                   None if mask is None else mask[:, 0])
    heads.append(a @ v)
    weights.append(a)
  concat = np.concatenate(heads, -1)  # Concat(head_1..head_h)
  w_o = p["out"]["kernel"].reshape(-1, p["out"]["kernel"].shape[-1])
  return concat @ w_o + p["out"]["bias"], np.stack(weights, 1)


@pytest.mark.parametrize("masked", ["none", "padding", "causal", "both"])
@pytest.mark.parametrize("cross", [False, True])
def test_multi_head_matches_numpy(masked, cross):
  rng = np.random.default_rng(0)
  b, t, s, d, h = 2, 5, 7 if cross else 5, 16, 4
  xq = rng.normal(size=(b, t, d)).astype(np.float32)
  xkv = rng.normal(size=(b, s, d)).astype(np.float32) if cross else xq
  valid = np.arange(s)[None] < np.array([[s], [s - 3]])
  mask = {"none": None, "padding": padding_mask(valid),
          "causal": causal_mask(t, s), "both": padding_mask(valid) & causal_mask(t, s)}[masked]
  mha = MultiHeadAttention(num_heads=h)
  params = mha.init(jax.random.key(1), xq, xkv if cross else None)["params"]
  got = mha.apply({"params": params}, xq, xkv if cross else None, mask, return_weights=True)
  np_mask = None if mask is None else np.broadcast_to(np.asarray(mask), (b, 1, t, s))
  want, want_w = np_multi_head(jax.tree.map(np.asarray, params), xq, xkv, np_mask)
  np.testing.assert_allclose(got.output, want, atol=1e-5)
  np.testing.assert_allclose(got.weights, want_w, atol=1e-6)
  fast = mha.apply({"params": params}, xq, xkv if cross else None, mask)  # no weights kept
  np.testing.assert_allclose(fast.output, want, atol=1e-5)
  assert fast.weights is None
  if mask is not None:  # masked positions get exactly zero weight
    hidden = ~np.broadcast_to(np.asarray(mask), got.weights.shape)
    assert np.all(np.asarray(got.weights)[hidden] == 0.0)
    np.testing.assert_allclose(np.asarray(got.weights).sum(-1), 1.0, atol=1e-6)


def test_dot_product_attention_scales_by_sqrt_dk():
  q = jnp.ones((1, 1, 1, 4))
  k = jnp.array([[[[1.0, 1, 1, 1]], [[0.0, 0, 0, 0]]]])  # scores 4 and 0, scaled 2 and 0
  _, w = dot_product_attention(q, k, jnp.zeros((1, 2, 1, 4)), return_weights=True)
  np.testing.assert_allclose(w[0, 0, 0], np_softmax(np.array([2.0, 0.0])), atol=1e-6)


def test_cpu_attention_path_equals_jax_nn_dot_product_attention():
  """On CPU the default path is the explicit one; `jax.nn.dot_product_attention` (kept for
  GPU/TPU, forced here with implementation='xla') gives the same outputs, masks included."""
  rng = np.random.default_rng(4)
  q, k, v = (jnp.asarray(rng.normal(size=(3, 6, 2, 8)), jnp.float32) for _ in range(3))
  mask = combine_masks(causal_mask(6), padding_mask(jnp.arange(6)[None] < jnp.array([[6], [4],
                                                                                      [1]])))
  for m in (None, mask):
    default, _ = dot_product_attention(q, k, v, m)
    library, _ = dot_product_attention(q, k, v, m, implementation="xla")
    np.testing.assert_allclose(default, library, atol=1e-5)


def test_seed_self_attention_reference():
  x = np.random.default_rng(2).normal(size=(2, 10, 512)).astype(np.float32)
  module = SelfAttention(head_dim=64)
  params = module.init(jax.random.key(0), x)["params"]
  out, weights = module.apply({"params": params}, x)
  assert out.shape == (2, 10, 64) and weights.shape == (2, 10, 10)
  assert set(params) == {"query", "key", "value"}  # three bias-free 512 -> 64 maps
  assert all(set(p) == {"kernel"} and p["kernel"].shape == (512, 64) for p in params.values())
  q, k, v = (x @ np.asarray(params[n]["kernel"]) for n in ("query", "key", "value"))
  a = np_softmax(q @ np.swapaxes(k, 1, 2) / 8.0)
  np.testing.assert_allclose(weights, a, atol=1e-5)
  np.testing.assert_allclose(out, a @ v, atol=1e-4)


def test_sinusoidal_table_formula_and_relative_positions():
  table = sinusoidal_table(50, 8)
  pos, i = np.arange(50)[:, None], np.arange(4)[None]
  np.testing.assert_allclose(table[:, 0::2], np.sin(pos / 10000 ** (2 * i / 8)), atol=1e-6)
  np.testing.assert_allclose(table[:, 1::2], np.cos(pos / 10000 ** (2 * i / 8)), atol=1e-6)
  # PE_{pos+k} is a linear function of PE_pos: one matrix M_k (fitted) maps every row.
  k = 3
  m, *_ = np.linalg.lstsq(table[:-k], table[k:], rcond=None)
  np.testing.assert_allclose(table[:-k] @ m, table[k:], atol=1e-4)


def test_sequence_longer_than_the_position_table_is_a_config_error():
  emb = Embedder(vocab_size=10, d_model=8, max_len=16)
  with pytest.raises(ConfigError, match="20 positions is longer than the positional table "
                                        r"\(16 positions\)"):
    emb.init(jax.random.key(0), jnp.zeros((1, 20), jnp.int32))


@functools.lru_cache(maxsize=None)
def tiny_gpt():
  model = build_model(dict(name="gpt", vocab_size=11, num_layers=2, num_heads=2, d_model=16,
                           max_len=12), 11)
  params = model.init(jax.random.key(0), jnp.zeros((1, 12), jnp.int32))["params"]
  forward = jax.jit(lambda toks: model.apply({"params": params}, toks)[0])
  return model, params, forward


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=12, max_size=12),
       st.lists(st.integers(0, 10), min_size=12, max_size=12), st.integers(0, 11))
def test_causal_outputs_ignore_later_tokens(tokens, other, t):
  _, _, forward = tiny_gpt()
  a = np.array([tokens], np.int32)
  b = a.copy()
  b[0, t + 1:] = np.array(other, np.int32)[t + 1:]  # change every token after t
  la, lb = forward(a), forward(b)
  np.testing.assert_allclose(la[0, :t + 1], lb[0, :t + 1], atol=1e-6)


def test_kv_cache_decoding_equals_full_recomputation():
  model, params, forward = tiny_gpt()
  tokens = jnp.asarray(np.random.default_rng(3).integers(0, 11, (3, 12)), jnp.int32)
  full = forward(tokens)
  v = {"params": params}
  caches = model.apply(v, tokens[:, :4], 12, method=model.prime)
  steps = []
  for i in range(4, 12):
    caches, logits = model.apply(v, caches, tokens[:, i], method=model.step)
    steps.append(logits)
  np.testing.assert_allclose(jnp.stack(steps, 1), full[:, 4:], atol=1e-5)
  with pytest.raises(ConfigError, match="generation .* of 13 positions"):
    model.apply(v, tokens[:, :4], 13, method=model.prime)


def test_vit_patch_embedding_is_a_linear_map_of_each_flattened_patch():
  model = build_model(dict(name="vit", image_size=8, patch_size=4, num_layers=1, num_heads=2,
                           d_model=8), 3)
  x = np.random.default_rng(4).normal(size=(2, 8, 8, 1)).astype(np.float32)
  params = model.init(jax.random.key(0), x)["params"]
  logits, weights = model.apply({"params": params}, x, method=model.attention_maps)
  assert logits.shape == (2, 3) and weights[0].shape == (2, 2, 5, 5)  # [CLS] + 4 patches
  kernel, bias = (np.asarray(params["patch_embed"][k]) for k in ("kernel", "bias"))
  patches = x.reshape(2, 2, 4, 2, 4, 1).transpose(0, 1, 3, 2, 4, 5).reshape(2, 4, 16)
  embedded = patches @ kernel.reshape(16, 8) + bias  # flatten -> linear projection (LAY-26)
  got = model.apply({"params": params}, x, False, False,
                    method=lambda m, *a: m._run(*a),
                    mutable=False, capture_intermediates=lambda mdl, _: mdl.name == "patch_embed")
  np.testing.assert_allclose(
      got[1]["intermediates"]["patch_embed"]["__call__"][0].reshape(2, 4, 8), embedded,
      atol=1e-5)
  with pytest.raises(ConfigError, match="built for 8x8 images .* got 12x12"):
    model.apply({"params": params}, np.zeros((1, 12, 12, 1), np.float32))
  with pytest.raises(ConfigError, match="multiple of model.patch_size"):
    build_model(dict(name="vit", image_size=10, patch_size=4), 3)


@functools.lru_cache(maxsize=None)
def tiny_transformer():
  model = build_model(dict(name="transformer", src_vocab_size=13, num_layers=2, num_heads=2,
                           d_model=16, max_len=10, dropout_rate=0.0), 11)
  src = jnp.asarray(np.random.default_rng(5).integers(1, 13, (3, 7)), jnp.int32)
  src = src.at[1, 5:].set(0).at[2, 3:].set(0)  # padded rows
  tgt = jnp.asarray(np.random.default_rng(6).integers(1, 11, (3, 6)), jnp.int32)
  params = model.init(jax.random.key(0), src, tgt)["params"]
  return model, {"params": params}, src, tgt


def test_transformer_incremental_decoding_equals_teacher_forcing():
  model, v, src, tgt = tiny_transformer()
  full, alpha = model.apply(v, src, tgt, return_attention=True)
  carry = model.apply(v, src, method=model.encode)
  steps = []
  for t in range(tgt.shape[1]):
    carry, logits = model.apply(v, carry, tgt[:, t], method=model.step)
    steps.append(logits)
  np.testing.assert_allclose(jnp.stack(steps, 1), full, atol=1e-5)
  # cross-attention heatmap rows: a distribution over the real source tokens only
  assert alpha.shape == (3, 6, 7)
  np.testing.assert_allclose(alpha.sum(-1), 1.0, atol=1e-5)
  assert np.all(np.asarray(alpha)[2, :, 3:] == 0.0)


def test_transformer_ignores_source_padding():
  model, v, src, tgt = tiny_transformer()
  longer = jnp.concatenate([src, jnp.zeros((3, 2), jnp.int32)], 1)  # two more pads
  np.testing.assert_allclose(model.apply(v, longer, tgt), model.apply(v, src, tgt), atol=1e-5)


def test_beam_search_reorders_the_transformer_caches():
  """Each beam's log-probability, as beam search sums it through the reordered KV caches,
  equals the teacher-forced log-probability of its tokens."""
  from dlcore.decode import beam_search
  model, v, src, _ = tiny_transformer()
  carry = model.apply(v, src, method=model.encode)
  step = lambda c, t: model.apply(v, c, t, method=model.step)
  start = jnp.ones((3,), jnp.int32)
  out = beam_search(step, carry, start, 5, 3, None)
  tokens = out.tokens.reshape(9, 5)
  tgt_in = jnp.concatenate([jnp.ones((9, 1), jnp.int32), tokens[:, :-1]], 1)
  logits = model.apply(v, jnp.repeat(src, 3, 0), tgt_in)
  lp = jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[..., None], -1)[..., 0].sum(1)
  np.testing.assert_allclose(out.log_probs.reshape(9), lp, atol=1e-4)


@settings(max_examples=10, deadline=None)
@given(st.permutations(list(range(6))))
def test_without_positions_an_encoder_is_permutation_equivariant(perm):
  """Why Transformers need positional encoding (002 §11.1.3): with positions 'none', permuting
  the tokens permutes the outputs; with sinusoidal positions it does not."""
  from dlcore.nn.transformer import EncoderLayer
  tokens = jnp.asarray([[3, 1, 4, 1, 5, 9]], jnp.int32)
  perm = np.asarray(perm)
  for positions in ("none", "sinusoidal"):
    emb = Embedder(vocab_size=10, d_model=8, max_len=6, positions=positions)
    layer = EncoderLayer(num_heads=2, d_ff=16, dropout_rate=0.0)
    e_params = emb.init(jax.random.key(0), tokens)
    x = emb.apply(e_params, tokens)
    l_params = layer.init(jax.random.key(1), x)
    run = lambda t: layer.apply(l_params, emb.apply(e_params, t))[0]
    same = np.allclose(run(tokens[:, perm]), run(tokens)[:, perm], atol=1e-5)
    assert same == (positions == "none" or np.array_equal(perm, np.arange(6)))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.lists(st.integers(0, 40), min_size=1, max_size=4))
def test_mlm_masks_exactly_15_percent_with_80_10_10(seed, pads):
  from dlcore.data.text.masking import mask_counts, mask_tokens
  rng = np.random.default_rng(seed)
  t = 48
  ids = rng.integers(7, 50, (len(pads), t))
  ids[:, 0] = 5  # [CLS]
  for row, pad in enumerate(pads):
    ids[row, t - pad:] = 0
  maskable = (ids >= 7)
  inputs, targets, weights = mask_tokens(jax.random.key(seed), ids, maskable, vocab_size=50)
  inputs, weights = np.asarray(inputs), np.asarray(weights) > 0
  np.testing.assert_array_equal(targets, ids)
  assert not np.any(weights & ~maskable)  # specials and padding are never chosen
  np.testing.assert_array_equal(inputs[~weights], ids[~weights])  # unchosen tokens unchanged
  n = maskable.sum(1)
  k, k_mask, k_random = (np.asarray(c) for c in mask_counts(jnp.asarray(n)))
  np.testing.assert_array_equal(weights.sum(1), k)
  np.testing.assert_array_equal(k, np.where(n > 0, np.maximum(np.round(0.15 * n), 1), 0))
  np.testing.assert_array_equal(((inputs == 4) & weights).sum(1), k_mask)  # 80% [MASK]
  changed = weights & (inputs != 4) & (inputs != ids)
  assert np.all(changed.sum(1) <= k_random)  # 10% random (a draw can repeat the original)
  assert np.all(inputs[weights & (inputs != 4)] >= 7)


def test_bert_heads_and_the_classifier_share_the_encoder_tree():
  pre = build_model(dict(name="bert", vocab_size=30, num_layers=1, num_heads=2, d_model=16,
                         max_len=12), 30)
  clf = build_model(dict(name="bert_classifier", vocab_size=30, num_layers=1, num_heads=2,
                         d_model=16, max_len=12), 2)
  tokens = jnp.asarray([[5, 9, 10, 6, 11, 6, 0, 0]], jnp.int32)
  segments = jnp.asarray([[0, 0, 0, 0, 1, 1, 0, 0]], jnp.int32)
  p_pre = pre.init(jax.random.key(0), tokens, segments)["params"]
  p_clf = clf.init(jax.random.key(1), tokens)["params"]
  assert jax.tree.map(jnp.shape, p_pre["bert"]) == jax.tree.map(jnp.shape, p_clf["bert"])
  mlm, nsp = pre.apply({"params": p_pre}, tokens, segments)
  assert mlm.shape == (1, 8, 30) and nsp.shape == (1, 2)
  # the MLM output layer is the token embedding's transpose (tied), plus a bias
  assert p_pre["mlm_bias"].shape == (30,)
  assert not any(x.shape == (16, 30) for x in jax.tree.leaves(p_pre))  # no separate W_out
  # padding changes nothing at the real positions
  longer = jnp.concatenate([tokens, jnp.zeros((1, 3), jnp.int32)], 1)
  np.testing.assert_allclose(clf.apply({"params": p_clf}, longer), clf.apply({"params": p_clf},
                                                                              tokens), atol=1e-5)
