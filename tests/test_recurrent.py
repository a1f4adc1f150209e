"""dlcore.nn.recurrent (RNN / LSTM / GRU cells, LAY-38..40) and dlcore.nn.rnn (Recurrence,
Bidirectional, StackedRNN, sequence_mask, last_by_length; LAY-41..43).

The cells are checked against a step-by-step NumPy float64 implementation of the seed formulas,
written from the docstring: every gate is W[h_{t-1}; x_t] + b with the full matrix
W = [W_h  W_x] rebuilt from the Flax kernels (Flax computes x @ kernel, so W_x = kernel.T).
Sizes are tiny (B=3, T=6, F=4, H=5) so that the whole file runs in seconds on a shared CPU.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore import testing as dt
from dlcore.errors import ConfigError
from dlcore.nn.recurrent import CELLS, GRUCell, LSTMCell, RNNCell, make_cell
from dlcore.nn.rnn import Bidirectional, Recurrence, StackedRNN, last_by_length, sequence_mask

B, T, F, H = 3, 6, 4, 5
KINDS = ("rnn", "lstm", "gru")

# ------------------------------------------------------------------ NumPy reference (float64)


def _sigmoid(a):
  return 1.0 / (1.0 + np.exp(-a))


_NP_ACT = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0)}


def _full_matrices(kind, p):
  """The documented full matrices W = [W_h  W_x] (rows = gate units) and biases, float64."""
  cell = p["cell"]
  kx = np.asarray(cell["input"]["kernel"], np.float64)  # (F, G*H)
  b = np.asarray(cell["input"]["bias"], np.float64)
  kh = np.asarray(cell["hidden"]["kernel"], np.float64)  # (H, hidden_gates*H)
  if kind in ("rnn", "lstm"):
    return {"W": np.hstack([kh.T, kx.T]), "b": b}
  kc = np.asarray(cell["candidate"]["kernel"], np.float64)  # (H, H)
  return {"W_zr": np.hstack([kh.T, kx[:, :2 * H].T]), "b_zr": b[:2 * H],
          "W_h": np.hstack([kc.T, kx[:, 2 * H:].T]), "b_h": b[2 * H:]}


def _np_step(kind, m, carry, x_t, act="tanh"):
  """One seed-formula step for one example: carry is h (rnn, gru) or (c, h) (lstm)."""
  if kind == "rnn":
    h = _NP_ACT[act](m["W"] @ np.concatenate([carry, x_t]) + m["b"])
    return h, h
  if kind == "lstm":
    c, h = carry
    a = m["W"] @ np.concatenate([h, x_t]) + m["b"]
    f, i, g, o = (a[k * H:(k + 1) * H] for k in range(4))  # order f, i, c~, o
    f, i, g, o = _sigmoid(f), _sigmoid(i), np.tanh(g), _sigmoid(o)
    c = f * c + i * g
    h = o * np.tanh(c)
    return (c, h), h
  h = carry
  a = m["W_zr"] @ np.concatenate([h, x_t]) + m["b_zr"]
  z, r = _sigmoid(a[:H]), _sigmoid(a[H:])
  h_tilde = np.tanh(m["W_h"] @ np.concatenate([r * h, x_t]) + m["b_h"])
  h = (1.0 - z) * h + z * h_tilde
  return h, h


def _np_run(kind, params, x, carry=None, act="tanh", reverse=False):
  """(outputs (B, T, H), final carry) of the NumPy reference over full (unpadded) sequences."""
  m = _full_matrices(kind, params)
  x = np.asarray(x, np.float64)
  bsz, steps = x.shape[:2]
  outs = np.zeros((bsz, steps, H))
  finals = []
  for b in range(bsz):
    if carry is None:
      cb = (np.zeros(H), np.zeros(H)) if kind == "lstm" else np.zeros(H)
    else:
      cb = jax.tree.map(lambda a: np.asarray(a, np.float64)[b], carry)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    for t in order:
      cb, outs[b, t] = _np_step(kind, m, cb, x[b, t], act)
    finals.append(cb)
  if kind == "lstm":
    return outs, (np.stack([c for c, _ in finals]), np.stack([h for _, h in finals]))
  return outs, np.stack(finals)


# ------------------------------------------------------------------ helpers


def _x(seed, shape=(B, T, F), scale=1.0):
  return (scale * np.random.default_rng(seed).normal(size=shape)).astype(np.float32)


def _randomise(variables, seed, scale=0.5):
  """Kernels replaced by random values, biases shifted by random values (all non-zero)."""
  rng = np.random.default_rng(seed)

  def new(path, a):
    r = jnp.asarray(scale * rng.normal(size=a.shape), a.dtype)
    return a + r if jax.tree_util.keystr(path).endswith("['bias']") else r

  return jax.tree_util.tree_map_with_path(new, variables)


def _jit(fn, **kw):
  """jax.jit with XLA's CPU optimisations off: each function here runs a few times on tiny
  arrays, so compiling fast matters more than running fast."""
  if jax.default_backend() != "cpu":
    return jax.jit(fn, **kw)
  return jax.jit(fn, compiler_options={"xla_backend_optimization_level": 0,
                                       "xla_llvm_disable_expensive_passes": True}, **kw)


@functools.lru_cache(maxsize=None)
def _apply(model):
  """The jitted `model.apply` (compiled once per module and input signature)."""
  return _jit(model.apply)


def _init(model, seed=0, x=None, *args):
  """Random variables of the module's shapes (from jax.eval_shape, so nothing compiles)."""
  x = _x(100 + seed) if x is None else x
  shapes = jax.eval_shape(model.init, jax.random.key(seed), jnp.asarray(x), *args)
  zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)
  return _randomise(zeros, seed)


def _random_carry(kind, seed, batch=B):
  rng = np.random.default_rng(seed)
  h = rng.uniform(-0.9, 0.9, size=(batch, H)).astype(np.float32)
  if kind == "lstm":
    return (rng.normal(size=(batch, H)).astype(np.float32), h)
  return h


def _h(kind, carry):
  return np.asarray(CELLS.get(kind).output(carry))


def _close(a, b, atol=1e-5, rtol=1e-5):
  jax.tree.map(lambda u, v: np.testing.assert_allclose(np.asarray(u, np.float64),
                                                       np.asarray(v, np.float64),
                                                       atol=atol, rtol=rtol), a, b)


# ------------------------------------------------------------------ 1. cells vs NumPy


def test_param_layout_matches_the_docstring():
  shapes = {k: jax.tree.map(lambda a: a.shape, jax.eval_shape(
      Recurrence(k, H).init, jax.random.key(0), jnp.zeros((B, T, F)))["params"]["cell"])
            for k in KINDS}
  assert shapes["rnn"] == {"input": {"kernel": (F, H), "bias": (H,)}, "hidden": {"kernel": (H, H)}}
  assert shapes["lstm"] == {"input": {"kernel": (F, 4 * H), "bias": (4 * H,)},
                            "hidden": {"kernel": (H, 4 * H)}}
  assert shapes["gru"] == {"input": {"kernel": (F, 3 * H), "bias": (3 * H,)},
                           "hidden": {"kernel": (H, 2 * H)}, "candidate": {"kernel": (H, H)}}
  assert {k: CELLS.get(k) for k in KINDS} == {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def _input_params(cell, seed=0):
  """A cell's real initial 'input' params (W_x, b: what `project` creates), eagerly."""
  return cell.init(jax.random.key(seed), jnp.zeros((1, F)), method="project")["params"]["input"]


@pytest.mark.parametrize("with_carry", [False, True], ids=["h0=0", "given_carry"])
@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_numpy_seed_formulas(kind, with_carry):
  options = (("forget_bias", 1.5),) if kind == "lstm" else ()
  model = Recurrence(kind, H, cell_options=options)
  v = _init(model, seed=1)
  if kind == "lstm":  # keep the initial forget bias in b_f: b = init + random
    bias = _input_params(make_cell("lstm", H, **dict(options)))["bias"]
    np.testing.assert_array_equal(bias, np.r_[np.full(H, 1.5), np.zeros(3 * H)])
    v["params"]["cell"]["input"]["bias"] = v["params"]["cell"]["input"]["bias"] + bias
  assert np.abs(np.asarray(v["params"]["cell"]["input"]["bias"])).min() > 0  # biases matter
  x = _x(2)
  carry = _random_carry(kind, 3) if with_carry else None
  out, final = _apply(model)(v, jnp.asarray(x), None, carry)
  ref_out, ref_final = _np_run(kind, v["params"], x, carry)
  assert out.shape == (B, T, H)
  _close(out, ref_out)
  _close(final, ref_final)
  np.testing.assert_allclose(_h(kind, final), ref_out[:, -1], atol=1e-5)
  # The comparison is sensitive: shifting one bias block changes the outputs.
  v["params"]["cell"]["input"]["bias"] = v["params"]["cell"]["input"]["bias"].at[-1].add(0.3)
  assert np.abs(np.asarray(_apply(model)(v, jnp.asarray(x), None, carry)[0]) -
                ref_out).max() > 1e-3


def test_cell_direct_call_and_project_match_numpy():
  """cell.project(x) = W_x x + b and cell(carry, project(x_t)) -> (carry, h), one step, with the
  'cell' parameters of a Recurrence (the same layout)."""
  x = _x(4, (B, F))
  for kind in KINDS:
    cell = make_cell(kind, H)
    jax.tree.map(lambda a: np.testing.assert_array_equal(a, np.zeros((B, H))),
                 cell.zero_carry(B))
    v = _init(Recurrence(kind, H), seed=5)
    cell_v = {"params": v["params"]["cell"]}
    carry = _random_carry(kind, 6)
    step = _jit(lambda v, c, x: (lambda xp: (xp, cell.apply(v, c, xp)))(
        cell.apply(v, x, method="project")))
    xp, (new_carry, h) = step(cell_v, carry, jnp.asarray(x))
    kx, b = (np.asarray(cell_v["params"]["input"][k], np.float64) for k in ("kernel", "bias"))
    np.testing.assert_allclose(xp, x @ kx + b, atol=1e-5)
    ref_out, ref_final = _np_run(kind, v["params"], x[:, None], carry)
    _close(h, ref_out[:, 0])
    _close(new_carry, ref_final)
    np.testing.assert_array_equal(cell.output(new_carry), h)


@pytest.mark.parametrize("forget_bias", [0.0, 1.0, -2.5])
def test_lstm_forget_bias_initialises_only_the_f_block(forget_bias):
  bias = np.asarray(_input_params(make_cell("lstm", H, forget_bias=forget_bias))["bias"])
  np.testing.assert_array_equal(bias[:H], np.full(H, forget_bias, np.float32))
  np.testing.assert_array_equal(bias[H:], np.zeros(3 * H, np.float32))
  assert make_cell("lstm", H).forget_bias == 0.0


def test_lstm_forget_bias_reaches_the_cell_through_recurrence_cell_options():
  model = Recurrence("lstm", H, cell_options=(("forget_bias", 1.0),))
  bias = _jit(model.init)(jax.random.key(0), jnp.zeros((B, T, F)))["params"]["cell"]["input"]
  np.testing.assert_array_equal(bias["bias"], np.r_[np.ones(H), np.zeros(3 * H)])


def test_lstm_gate_order_f_then_i_then_o():
  """f -> 1 (block 0), i -> 0 (block 1): c_t = c_{t-1}; and h_t = o_t tanh(c_t), o = block 3."""
  model = Recurrence("lstm", H)
  v = _init(model, seed=7)
  bias = np.zeros(4 * H, np.float32)
  bias[:H], bias[H:2 * H] = 100.0, -100.0
  v["params"]["cell"]["input"]["bias"] = jnp.asarray(bias)
  c0, h0 = _random_carry("lstm", 8)
  x = _x(9)
  out, (c, h) = _apply(model)(v, jnp.asarray(x), None, (c0, h0))
  np.testing.assert_allclose(c, c0, atol=1e-6)
  w_o = _full_matrices("lstm", v["params"])["W"][3 * H:]
  o = _sigmoid(np.concatenate([np.asarray(out[:, -2], np.float64), x[:, -1]], 1) @ w_o.T)
  np.testing.assert_allclose(h, o * np.tanh(c0), atol=1e-5)


def test_gru_z_to_zero_keeps_the_previous_state():
  """Seed convention h_t = (1 - z) h_{t-1} + z h~: z -> 0 keeps h_{t-1} (Flax's GRUCell, with
  h_t = (1 - z) h~ + z h_{t-1}, would output the candidate when its z -> 0)."""
  model = Recurrence("gru", H)
  v = _init(model, seed=10)
  v["params"]["cell"]["input"]["bias"] = v["params"]["cell"]["input"]["bias"].at[:H].set(-100.0)
  h0 = _random_carry("gru", 11)
  x = _x(12)
  out, final = _apply(model)(v, jnp.asarray(x), None, h0)
  np.testing.assert_allclose(out, np.broadcast_to(h0[:, None], (B, T, H)), atol=1e-6)
  np.testing.assert_allclose(final, h0, atol=1e-6)
  # The candidate that Flax's convention would output here is far from h0.
  m = _full_matrices("gru", v["params"])
  r = _sigmoid(m["W_zr"][H:] @ np.concatenate([h0[0], x[0, 0]]) + m["b_zr"][H:])
  h_tilde = np.tanh(m["W_h"] @ np.concatenate([r * h0[0], x[0, 0]]) + m["b_h"])
  assert np.abs(h_tilde - h0[0]).max() > 1e-2


def test_gru_r_to_zero_makes_the_candidate_ignore_the_previous_state():
  """r -> 0 resets h_{t-1} BEFORE the candidate matmul: h~ = tanh(W_x x + b_h), whatever
  h_{t-1} and W_h are (z -> 1 so that h_t = h~). Flax's reset after the matmul would keep b_hn."""
  model = Recurrence("gru", H)
  v = _init(model, seed=13)
  bias = np.asarray(v["params"]["cell"]["input"]["bias"]).copy()
  bias[:H], bias[H:2 * H] = 100.0, -100.0  # z -> 1, r -> 0
  v["params"]["cell"]["input"]["bias"] = jnp.asarray(bias)
  x = _x(14)
  kx = np.asarray(v["params"]["cell"]["input"]["kernel"], np.float64)
  expected = np.tanh(x @ kx[:, 2 * H:] + bias[2 * H:])
  outs = [_apply(model)(v, jnp.asarray(x), None, _random_carry("gru", s))[0] for s in (15, 16)]
  for out in outs:
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_seed_gru_differs_from_flax_gru_cell_with_the_same_weights():
  """The same W_z, W_r, W_h, W_x, b loaded into flax.linen.GRUCell give other outputs (§0 10)."""
  model = Recurrence("gru", H)
  v = _init(model, seed=17)
  x = _x(18)
  h0 = _random_carry("gru", 19)
  seed_out = np.asarray(_apply(model)(v, jnp.asarray(x), None, h0)[0])
  p = v["params"]["cell"]
  kx, b, kh, kc = (p["input"]["kernel"], p["input"]["bias"], p["hidden"]["kernel"],
                   p["candidate"]["kernel"])
  flax_cell = nn.GRUCell(H)
  fp = {"ir": {"kernel": kx[:, H:2 * H], "bias": b[H:2 * H]},
        "iz": {"kernel": kx[:, :H], "bias": b[:H]},
        "in": {"kernel": kx[:, 2 * H:], "bias": b[2 * H:]},
        "hr": {"kernel": kh[:, H:]}, "hz": {"kernel": kh[:, :H]},
        "hn": {"kernel": kc, "bias": jnp.zeros(H)}}
  fv = jax.eval_shape(flax_cell.init, jax.random.key(0), jnp.asarray(h0), jnp.asarray(x[:, 0]))
  assert jax.tree.map(jnp.shape, fp) == jax.tree.map(jnp.shape, fv["params"])
  h, outs = jnp.asarray(h0), []
  for t in range(T):
    h, y = flax_cell.apply({"params": fp}, h, jnp.asarray(x[:, t]))
    outs.append(np.asarray(y))
  assert np.abs(np.stack(outs, 1) - seed_out).max() > 1e-2


# ------------------------------------------------------------------ 2. options and errors


def test_rnn_relu_activation_matches_numpy():
  model = Recurrence("rnn", H, cell_options=(("activation", "relu"),))
  v = _init(model, seed=20)
  x = _x(21)
  out, final = _apply(model)(v, jnp.asarray(x))
  ref_out, ref_final = _np_run("rnn", v["params"], x, act="relu")
  _close(out, ref_out)
  _close(final, ref_final)
  assert (np.asarray(out) == 0).any() and (np.asarray(out) > 1).any()  # relu, not tanh
  assert np.abs(ref_out - _np_run("rnn", v["params"], x, act="tanh")[0]).max() > 1e-2


def test_make_cell_rejects_options_of_other_cells_and_unknown_names():
  with pytest.raises(ConfigError, match="activation"):
    make_cell("lstm", 4, activation="relu")
  with pytest.raises(ConfigError, match="forget_bias"):
    make_cell("gru", 4, forget_bias=1.0)
  with pytest.raises(ConfigError, match="forget_bias"):
    make_cell("rnn", 4, forget_bias=1.0)
  with pytest.raises(ConfigError, match="bogus"):
    make_cell("rnn", 4, bogus=1)
  with pytest.raises(ConfigError, match="lstmm"):
    make_cell("lstmm", 4)
  with pytest.raises(ConfigError, match="transformer"):
    jax.eval_shape(Recurrence("transformer", H).init, jax.random.key(0), jnp.zeros((B, T, F)))
  with pytest.raises(ConfigError, match="activation"):
    jax.eval_shape(Recurrence("lstm", H, cell_options=(("activation", "relu"),)).init,
                   jax.random.key(0), jnp.zeros((B, T, F)))
  with pytest.raises(ConfigError, match="features"):
    jax.eval_shape(Recurrence("rnn", 0).init, jax.random.key(0), jnp.zeros((B, T, F)))
  with pytest.raises(ConfigError, match="nope"):
    jax.eval_shape(Recurrence("rnn", H, cell_options=(("activation", "nope"),)).init,
                   jax.random.key(0), jnp.zeros((B, T, F)))
  assert make_cell("rnn", 4, activation="relu").activation == "relu"
  assert make_cell("lstm", 4, forget_bias=1.0).forget_bias == 1.0


# ------------------------------------------------------------------ 3. padding (property)


@functools.lru_cache(maxsize=None)
def _padding_setup(kind):
  """Variables of a Recurrence (the bidirectional layer gets them in both directions), the
  jitted padded runs of each mode, and one jitted function running an unpadded (1, n, F)
  sequence alone at every length n = 1..T (one compilation for all), forward, and reverse: the
  backward RNN reads x_t with h_{t+1}, i.e. the forward run over x[b, :len] flipped in time
  (that Recurrence(reverse=True) computes exactly this on unpadded input is checked against
  NumPy in test_reverse_run_matches_numpy)."""
  fwd, rev, bidir = Recurrence(kind, H), Recurrence(kind, H, reverse=True), Bidirectional(kind, H)
  v = _init(fwd, seed=30 + KINDS.index(kind))
  variables = {"forward": v, "reverse": v,
               "bidir": {"params": {"forward": v["params"], "backward": v["params"]}}}
  padded = {"forward": _apply(fwd), "reverse": _apply(rev), "bidir": _apply(bidir)}

  def alone(v, x1):
    runs = [fwd.apply(v, x1[:, :n]) for n in range(1, T + 1)]
    flipped = [fwd.apply(v, x1[:, :n][:, ::-1]) for n in range(1, T + 1)]
    return [(f, (o[:, ::-1], c)) for f, (o, c) in zip(runs, flipped)]

  alone = _jit(alone)
  return variables, padded, alone


@pytest.mark.parametrize("mode", ["forward", "reverse", "bidir"])
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=15, deadline=None)
@given(lengths=st.lists(st.integers(1, T), min_size=B, max_size=B),
       seed=st.integers(0, 2**31 - 1))
def test_padding_changes_nothing(kind, mode, lengths, seed):
  """Padded batch (garbage in the padding) == each sequence x[b, :len] run alone, unpadded."""
  variables, padded, alone = _padding_setup(kind)
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(B, T, F)).astype(np.float32)
  garbage = x.copy()
  lens = np.asarray(lengths, np.int32)
  for b, n in enumerate(lens):
    garbage[b, n:] = rng.normal(scale=10.0, size=(T - n, F))
  out, carry = padded[mode](variables[mode], jnp.asarray(garbage), jnp.asarray(lens))
  out = np.asarray(out)
  assert out.shape == (B, T, 2 * H if mode == "bidir" else H)
  for b, n in enumerate(lens):
    (fw_out, fw_carry), (bw_out, bw_carry) = alone(variables["forward"], jnp.asarray(x[b:b + 1]))[
        n - 1]
    assert fw_out.shape == bw_out.shape == (1, n, H)
    ref_out, ref_carry = {"forward": (fw_out, fw_carry), "reverse": (bw_out, bw_carry),
                          "bidir": (jnp.concatenate([fw_out, bw_out], -1), (fw_carry, bw_carry))
                          }[mode]
    np.testing.assert_allclose(out[b, :n], np.asarray(ref_out)[0], atol=1e-5)
    np.testing.assert_array_equal(out[b, n:], 0.0)
    _close(jax.tree.map(lambda a: a[b:b + 1], carry), ref_carry, atol=1e-5)


def test_reverse_padding_with_a_given_initial_carry_matches_numpy():
  """Padded steps (processed first in reverse) keep the passed carry; the backward run starts
  from it at t = len - 1, like the NumPy reverse run of x[b, :len]."""
  model = Recurrence("lstm", H, reverse=True)
  v = _init(model, seed=40)
  x = _x(41)
  carry = _random_carry("lstm", 42)
  lens = np.array([6, 2, 4], np.int32)
  out, final = _apply(model)(v, jnp.asarray(x), jnp.asarray(lens), carry)
  for b, n in enumerate(lens):
    one = jax.tree.map(lambda a: a[b:b + 1], carry)
    ref_out, ref_final = _np_run("lstm", v["params"], x[b:b + 1, :n], one, reverse=True)
    np.testing.assert_allclose(out[b, :n], ref_out[0], atol=1e-5)
    np.testing.assert_array_equal(out[b, n:], 0.0)
    _close(jax.tree.map(lambda a: a[b:b + 1], final), ref_final)


@pytest.mark.parametrize("kind", KINDS)
def test_reverse_run_matches_numpy(kind):
  model = Recurrence(kind, H, reverse=True)
  v = _init(model, seed=43)
  x = _x(44)
  out, final = _apply(model)(v, jnp.asarray(x))
  ref_out, ref_final = _np_run(kind, v["params"], x, reverse=True)
  _close(out, ref_out)
  _close(final, ref_final)
  np.testing.assert_allclose(_h(kind, final), ref_out[:, 0], atol=1e-5)


def test_sequence_mask():
  np.testing.assert_array_equal(
      sequence_mask(jnp.array([0, 2, 4]), 4),
      [[False] * 4, [True, True, False, False], [True] * 4])


# ------------------------------------------------------------------ 4. readouts


def test_last_by_length_is_the_last_real_step():
  outputs = _x(50, (B, T, H))
  lens = np.array([1, 6, 3])
  np.testing.assert_array_equal(last_by_length(jnp.asarray(outputs), jnp.asarray(lens)),
                                outputs[np.arange(B), lens - 1])
  np.testing.assert_array_equal(last_by_length(jnp.asarray(outputs), jnp.full(B, T)),
                                outputs[:, -1])


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_final_states_are_the_ends_of_each_half(kind):
  model = Bidirectional(kind, H)
  v = _init(model, seed=51)
  x = jnp.asarray(_x(52))
  lens = jnp.array([4, 6, 1], jnp.int32)
  out, (fw, bw) = _apply(model)(v, x, lens)
  # atol: the carry and the output are the same h, possibly rounded in different XLA fusions.
  np.testing.assert_allclose(_h(kind, fw), last_by_length(out[..., :H], lens), atol=1e-6)
  np.testing.assert_allclose(_h(kind, bw), out[:, 0, H:], atol=1e-6)
  # The halves are the forward and backward Recurrences with the same parameters.
  both = _jit(lambda v, x, lens: (
      Recurrence(kind, H).apply({"params": v["params"]["forward"]}, x, lens)[0],
      Recurrence(kind, H, reverse=True).apply({"params": v["params"]["backward"]}, x, lens)[0]))
  fw_ref, bw_ref = both(v, x, lens)
  np.testing.assert_allclose(out[..., :H], fw_ref, atol=1e-6)
  np.testing.assert_allclose(out[..., H:], bw_ref, atol=1e-6)


# ------------------------------------------------------------------ 5. StackedRNN


def test_stacked_rnn_structure_and_dropout():
  model = StackedRNN("lstm", H, num_layers=2, dropout=0.5)
  x = jnp.asarray(_x(60))
  v = _init(model, seed=60)
  params = v["params"]
  assert set(params) == {"layer0", "layer1"}
  assert params["layer0"]["cell"]["input"]["kernel"].shape == (F, 4 * H)
  assert params["layer1"]["cell"]["input"]["kernel"].shape == (H, 4 * H)  # fed by layer0
  lstm = Recurrence("lstm", H)

  def runs(v, x, k1, k2):
    layer0 = lstm.apply({"params": v["params"]["layer0"]}, x)[0]
    return {"eval": model.apply(v, x, train=False),
            "eval_rng": model.apply(v, x, train=False, rngs={"dropout": k1}),
            "train1": model.apply(v, x, train=True, rngs={"dropout": k1}),
            "train1_again": model.apply(v, x, train=True, rngs={"dropout": k1}),
            "train2": model.apply(v, x, train=True, rngs={"dropout": k2}),
            "layers": lstm.apply({"params": v["params"]["layer1"]}, layer0)[0]}

  r = _jit(runs)(v, x, jax.random.key(1), jax.random.key(2))
  (ev, carries), (tr1, tr_carries) = r["eval"], r["train1"]
  assert len(carries) == 2 and ev.shape == (B, T, H)
  np.testing.assert_array_equal(ev, r["eval_rng"][0])  # eval: deterministic, ignores the rng
  np.testing.assert_array_equal(tr1, r["train1_again"][0])  # same key, same mask
  np.testing.assert_allclose(ev, r["layers"], atol=1e-6)  # eval = layer1(layer0(x)), no dropout
  assert np.abs(np.asarray(tr1) - np.asarray(ev)).max() > 1e-3  # train: dropout is active
  assert np.abs(np.asarray(tr1) - np.asarray(r["train2"][0])).max() > 1e-3
  # Dropout is between layers: layer 0 sees none, its final carry is the eval one.
  _close(tr_carries[0], carries[0], atol=1e-6)
  with pytest.raises(Exception, match="dropout"):  # train=True needs a dropout rng
    jax.eval_shape(lambda v, x: model.apply(v, x, train=True), v, x)


@pytest.mark.parametrize("layers,dropout", [(2, 0.0), (1, 0.9)])
def test_stacked_rnn_train_equals_eval_without_dropout_or_after_the_last_layer(layers, dropout):
  model = StackedRNN("gru", H, num_layers=layers, dropout=dropout)
  x = jnp.asarray(_x(61))
  v = _init(model, seed=61)
  ev, tr = _jit(lambda v, x, k: (model.apply(v, x, train=False), model.apply(
      v, x, train=True, rngs={"dropout": k})))(v, x, jax.random.key(3))
  _close(ev, tr, atol=1e-6)


def test_stacked_bidirectional_rnn():
  model = StackedRNN("rnn", H, num_layers=2, bidirectional=True)
  x = jnp.asarray(_x(62))
  lens = jnp.array([6, 3, 5], jnp.int32)
  v = _init(model, 62, x, lens)
  assert set(v["params"]) == {"layer0", "layer1"}
  assert set(v["params"]["layer1"]) == {"forward", "backward"}
  assert v["params"]["layer1"]["forward"]["cell"]["input"]["kernel"].shape == (2 * H, H)
  fn = _jit(lambda v, x, lens: (model.apply(v, x, lens), Bidirectional("rnn", H).apply(
      {"params": v["params"]["layer1"]}, Bidirectional("rnn", H).apply(
          {"params": v["params"]["layer0"]}, x, lens)[0], lens)[0]))
  (out, carries), ref = fn(v, x, lens)
  assert out.shape == (B, T, 2 * H) and len(carries) == 2
  np.testing.assert_array_equal(np.asarray(out)[~np.asarray(sequence_mask(lens, T))], 0.0)
  np.testing.assert_allclose(out, ref, atol=1e-6)


# ------------------------------------------------------------------ 6. gradients


@pytest.mark.parametrize("kind", KINDS)
def test_initial_carry_is_stop_gradiented_and_params_get_gradients(kind):
  model = Recurrence(kind, H)
  v = _init(model, seed=70)
  x = jnp.asarray(_x(71))
  carry = jax.tree.map(jnp.asarray, _random_carry(kind, 72))

  def loss(params, c):
    out, final = model.apply({"params": params}, x, None, c)
    return (out ** 2).sum() + (CELLS.get(kind).output(final) ** 2).sum()

  value_and_grads = _jit(jax.value_and_grad(loss, argnums=(0, 1)))
  value, (g_params, g_carry) = value_and_grads(v["params"], carry)
  value0, _ = value_and_grads(v["params"], jax.tree.map(jnp.zeros_like, carry))
  assert abs(float(value) - float(value0)) > 1e-3  # the loss depends on the carry ...
  for leaf in jax.tree.leaves(g_carry):  # ... but no gradient flows into it
    np.testing.assert_array_equal(leaf, 0.0)
  for leaf in jax.tree.leaves(g_params):
    assert np.abs(np.asarray(leaf)).max() > 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_bptt_gradient_reaches_the_first_step_and_not_the_padding(kind):
  fwd, bwd = Recurrence(kind, H), Recurrence(kind, H, reverse=True)
  v = _init(fwd, seed=73)
  x = jnp.asarray(_x(74))
  lens = jnp.array([6, 4, 2], jnp.int32)
  grads = _jit(lambda x: (
      jax.grad(lambda x: last_by_length(fwd.apply(v, x, lens)[0], lens).sum())(x),
      jax.grad(lambda x: bwd.apply(v, x, lens)[0][:, 0].sum())(x)))
  g, gr = (np.asarray(a) for a in grads(x))
  for b, n in enumerate(np.asarray(lens)):
    # The loss at the last real step reaches x at t = 0 (through every step) ...
    assert np.abs(g[b, 0]).max() > 1e-6, (b, g[b])
    # ... and the backward output at t = 0 reaches x at the true end t = len - 1.
    assert np.abs(gr[b, n - 1]).max() > 1e-6, (b, gr[b])
    np.testing.assert_array_equal(g[b, n:], 0.0)  # padding gets exactly no gradient
    np.testing.assert_array_equal(gr[b, n:], 0.0)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_param_gradients_match_finite_differences(kind):
  """dlcore.testing.check_module_grads in float64, with lengths; x and a zero initial carry are
  passed in float64 because the default carry is float32 (see test_float64_default_carry)."""
  model = Recurrence(kind, H)
  v = _init(model, seed=75)
  x = _x(76).astype(np.float64)
  lens = np.array([6, 3, 5], np.int32)
  zero = np.zeros((B, H), np.float64)
  carry = (zero, zero) if kind == "lstm" else zero
  results = dt.check_module_grads(model, v, (x, lens, carry))
  assert len(results) == len(jax.tree.leaves(v))
  assert all(r.ok and abs(r.autodiff) > 1e-6 for r in results)


def test_float64_default_carry():
  """The zero initial carry takes the inputs' dtype, so a float64 run needs no carry."""
  model = Recurrence("gru", H)
  v = _init(model, seed=79)
  with jax.enable_x64(True):
    out, carry = jax.eval_shape(model.apply, jax.tree.map(lambda a: a.astype(jnp.float64), v),
                                jnp.zeros((B, T, F), jnp.float64))
  assert out.dtype == jnp.float64 and carry.dtype == jnp.float64


def test_nan_padding_does_not_reach_the_gradients():
  model = Recurrence("lstm", H)
  x = np.asarray(_x(83), np.float32).copy()
  x[1, 3:] = np.nan
  lens = jnp.array([T, 3, 2], jnp.int32)
  v = _init(model, 84, jnp.asarray(x), lens)
  grads = jax.grad(lambda p: (model.apply({"params": p}, x, lens)[0] ** 2).sum())(v["params"])
  assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree.leaves(grads))


# ------------------------------------------------------------------ 7. jit / vmap


def test_jit_matches_eager():
  model = Recurrence("gru", H, reverse=True)
  x = jnp.asarray(_x(80))
  lens = jnp.array([5, 6, 2], jnp.int32)
  v = _init(model, 81, x, lens)
  _close(jax.jit(model.apply)(v, x, lens), model.apply(v, x, lens), atol=1e-6, rtol=1e-6)


def test_vmap_over_batches_matches_a_loop():
  model = Recurrence("lstm", H)
  v = _init(model, seed=82)
  xs = jnp.asarray(np.stack([_x(83), _x(84)]))  # (2, B, T, F)
  ls = jnp.array([[5, 6, 2], [1, 3, 6]], jnp.int32)
  batched = _jit(jax.vmap(lambda x, l: model.apply(v, x, l)))(xs, ls)
  for n in range(2):
    _close(jax.tree.map(lambda a: a[n], batched), _apply(model)(v, xs[n], ls[n]),
           atol=1e-6, rtol=1e-6)
