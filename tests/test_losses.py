"""dlcore.losses, per-example losses: LOSS-1..7, 16, 22; reductions and masks (§0 items 3-4);
build_loss; the chex shape checks at the loss entry points. Every expectation is an independent
NumPy formula (float64), compared at float32 tolerance. Property tests run each pure loss with
and without jit (chex.variants), and the per-device mean under pmap (chex.fake_pmap).
"""

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore import losses as L
from dlcore import testing as dt
from dlcore.errors import ConfigError

RNG = np.random.default_rng(0)
B, K = 8, 5
LOGITS = (RNG.normal(size=(B, K)) * 2).astype(np.float32)
LABELS = RNG.integers(0, K, size=B)
ONEHOT = np.eye(K, dtype=np.float32)[LABELS]
PRED = RNG.normal(size=(B, 3)).astype(np.float32)
TRUE = (PRED + RNG.normal(size=(B, 3)) * 1.5).astype(np.float32)
BLOGITS = (RNG.normal(size=B) * 3).astype(np.float32)
BLABELS = RNG.integers(0, 2, size=B).astype(np.float32)
TOL = dict(rtol=2e-5, atol=2e-6)


def np_log_softmax(z):
  z = np.asarray(z, np.float64)
  m = z.max(-1, keepdims=True)
  return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def np_ce(z, y):
  return -(y * np_log_softmax(z)).sum(-1)


def np_sigmoid(z):
  return 1 / (1 + np.exp(-np.asarray(z, np.float64)))


def np_bce(p, y):
  return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def close(got, want, **kw):
  np.testing.assert_allclose(np.asarray(got, np.float64), want, **{**TOL, **kw})


# ------------------------------------------------------------------ regression


def test_mse_mae_and_the_half_variant():
  e = PRED.astype(np.float64) - TRUE
  close(L.mean_squared_error(PRED, TRUE), (e**2).mean(-1))
  close(L.mean_squared_error(PRED, TRUE, reduction="mean"), (e**2).mean())
  close(L.mean_squared_error(PRED, TRUE, half=True, reduction="sum"), (e**2).mean(-1).sum() / 2)
  x, y = PRED[:, 0], TRUE[:, 0]  # one output: 1/(2m) sum (y - y_hat)^2  (000 §1.3.1)
  close(L.mean_squared_error(x, y, half=True, reduction="mean"), ((x - y)**2).sum() / (2 * B))
  close(L.mean_absolute_error(PRED, TRUE, reduction="mean"), np.abs(e).mean())
  close(L.mean_squared_error(PRED[:, :1], TRUE[:, 0]), ((PRED[:, 0] - TRUE[:, 0])**2))
  close(L.reconstruction_loss(PRED, TRUE), (e**2).sum(-1))


def np_huber(e, delta):
  a = np.abs(e)
  return np.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2)


@pytest.mark.parametrize("delta", [1.0, 0.3])
def test_huber_matches_numpy(delta):
  e = PRED.astype(np.float64) - TRUE
  close(L.huber_loss(PRED, TRUE, delta=delta), np_huber(e, delta).mean(-1))


class RegressionPropertyTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @settings(max_examples=25, deadline=None)
  @given(dt.arrays(16, min_value=-100, max_value=100), st.floats(0.05, 5.0))
  def test_huber_lies_between_its_mae_and_mse_like_bounds(self, e, delta):
    # one shape, and delta an argument (not a constant): one compilation for every example
    huber = self.variant(lambda p, t, d: L.huber_loss(p, t, delta=d))
    h = huber(e, np.zeros_like(e), np.float32(delta))
    chex.assert_shape(h, e.shape)
    chex.assert_type(h, np.float32)
    h = np.asarray(h, np.float64)
    a = np.abs(e).astype(np.float64)
    slack = 1e-5 * (1 + a**2)
    assert (h <= np.minimum(0.5 * a**2, delta * a) + slack).all()
    assert (h >= 0.5 * np.minimum(a**2, delta * a) - slack).all()
    assert (h >= delta * a - 0.5 * delta**2 - slack).all()
    inside = a <= delta  # equal to MSE / 2 inside delta
    mse = np.asarray(self.variant(L.mean_squared_error)(e, np.zeros_like(e)))
    chex.assert_trees_all_close(h[inside], mse[inside] / 2, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ classification


def test_cross_entropy_integer_and_onehot_labels_match_numpy():
  want = np_ce(LOGITS, ONEHOT)
  close(L.softmax_cross_entropy(LOGITS, LABELS), want)
  close(L.softmax_cross_entropy(LOGITS, ONEHOT), want)
  close(L.softmax_cross_entropy(LOGITS, LABELS, reduction="sum"), want.sum())  # 001/003 form
  close(L.LOSSES.get("cross_entropy")(LOGITS, LABELS), want)


@pytest.mark.parametrize("ls", [0.1, 0.3])
def test_label_smoothing_matches_numpy_and_zero_is_plain_ce(ls):
  y = (1 - ls) * ONEHOT + ls / K
  close(L.softmax_cross_entropy(LOGITS, LABELS, label_smoothing=ls), np_ce(LOGITS, y))
  close(L.softmax_cross_entropy(LOGITS, ONEHOT, label_smoothing=ls), np_ce(LOGITS, y))
  close(L.softmax_cross_entropy(LOGITS, LABELS, label_smoothing=0.0), np_ce(LOGITS, ONEHOT))


def test_cross_entropy_gradient_is_softmax_minus_onehot():
  g = jax.grad(lambda z: L.softmax_cross_entropy(z, LABELS, reduction="sum"))(LOGITS)
  chex.assert_shape(g, LOGITS.shape)
  chex.assert_trees_all_close(g, np.exp(np_log_softmax(LOGITS)) - ONEHOT, atol=1e-6, rtol=2e-5)


class CrossEntropyPropertyTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @settings(max_examples=10, deadline=None)
  @given(dt.logits_and_labels(num_classes=(2, 4), batch=3), st.floats(-50, 50, width=32))
  def test_cross_entropy_is_shift_invariant_nonnegative_and_label_format_free(self, case, c):
    logits, labels = case
    ce = self.variant(L.softmax_cross_entropy)
    got = ce(logits, labels)
    chex.assert_shape(got, labels.shape)
    chex.assert_type(got, np.float32)
    want = -np.take_along_axis(np_log_softmax(logits), labels[:, None], -1)[:, 0]
    chex.assert_trees_all_close(got, want, rtol=2e-5, atol=2e-5)
    assert (np.asarray(got) >= 0).all()
    onehot = np.eye(logits.shape[1], dtype=np.float32)[labels]
    chex.assert_trees_all_close(ce(logits + np.float32(c), onehot), got, rtol=1e-4, atol=1e-4)


class DataParallelLossTest(chex.TestCase):

  @chex.variants(with_pmap=True)
  def test_mean_loss_from_per_device_sums_equals_the_whole_batch_mean(self):
    """A loss computed per device (4 shards of the batch): psum of the masked sums and counts
    gives the whole batch's masked mean. chex.fake_pmap runs the pmap as a vmap (no devices)."""
    mask = np.array([1, 0, 1, 1, 0, 1, 1, 1], np.float32)

    def per_device(logits, labels, m):
      values = L.softmax_cross_entropy(logits, labels, mask=m, reduction="sum")
      return jax.lax.psum(values, "i") / jax.lax.psum(m.sum(), "i")

    shard = lambda a: a.reshape((4, B // 4) + a.shape[1:])
    with chex.fake_pmap():
      fn = self.variant(per_device, broadcast_args_to_devices=False, n_devices=4)
      got = fn(shard(LOGITS), shard(LABELS), shard(mask))
    chex.assert_shape(got, ())
    want = L.softmax_cross_entropy(LOGITS, LABELS, mask=mask, reduction="mean")
    chex.assert_trees_all_close(got, want, rtol=1e-6)


def test_weighted_cross_entropy():
  w = np.linspace(0.5, 2.0, K).astype(np.float32)
  close(L.weighted_cross_entropy(LOGITS, LABELS, class_weights=w),
        w[LABELS] * np_ce(LOGITS, ONEHOT))
  pytorch_mean = (w[LABELS] * np_ce(LOGITS, ONEHOT)).sum() / w[LABELS].sum()
  close(L.softmax_cross_entropy(LOGITS, LABELS, weights=w[LABELS], reduction="mean"), pytorch_mean)


def test_bce_from_logits_and_probabilities():
  want = np_bce(np_sigmoid(BLOGITS), BLABELS)
  close(L.binary_cross_entropy_with_logits(BLOGITS, BLABELS), want)
  close(L.binary_cross_entropy_with_logits(BLOGITS[:, None], BLABELS), want)
  close(L.binary_cross_entropy(np_sigmoid(BLOGITS).astype(np.float32), BLABELS), want, rtol=1e-4)
  close(L.LOSSES.get("binary_cross_entropy_probs")(np.float32([0.9]), np.float32([1.0])),
        [-np.log(0.9)])


def test_bce_probability_clip_is_dtype_aware():
  assert L.probability_eps(jnp.float64) == 1e-15
  eps32 = L.probability_eps(jnp.float32)
  assert eps32 == float(np.finfo(np.float32).eps) and np.float32(1 - eps32) < 1
  p = jnp.asarray([0.0, 1.0], jnp.float32)
  got = np.asarray(L.binary_cross_entropy(p, jnp.asarray([1.0, 0.0])))
  assert np.isfinite(got).all()
  close(got, [-np.log(eps32)] * 2, rtol=1e-4)
  close(L.binary_cross_entropy(p, jnp.asarray([0.0, 1.0])), [0.0, 0.0], atol=2e-7)


# ------------------------------------------------------------------ focal (LOSS-7)


@pytest.mark.parametrize("gamma,alpha", [(2.0, None), (2.0, 0.25), (1.0, "vec")])
def test_multiclass_focal_matches_numpy(gamma, alpha):
  a = np.linspace(0.2, 1.0, K) if alpha == "vec" else alpha
  p_t = np.exp((np_log_softmax(LOGITS) * ONEHOT).sum(-1))
  a_t = 1.0 if a is None else (a[LABELS] if alpha == "vec" else a)
  want = -a_t * (1 - p_t)**gamma * np.log(p_t)
  close(L.focal_loss(LOGITS, LABELS, gamma=gamma, alpha=a), want)
  assert L.hyperparameters(L.focal_loss) == ["gamma", "alpha"]


def test_binary_focal_matches_numpy():
  p = np_sigmoid(BLOGITS)
  p_t = np.where(BLABELS == 1, p, 1 - p)
  a_t = np.where(BLABELS == 1, 0.25, 0.75)
  close(L.binary_focal_loss(BLOGITS, BLABELS), -a_t * (1 - p_t)**2 * np.log(p_t), rtol=1e-4)


def test_focal_with_gamma_zero_and_no_alpha_is_cross_entropy():
  close(L.focal_loss(LOGITS, LABELS, gamma=0.0), np_ce(LOGITS, ONEHOT))
  close(L.binary_focal_loss(BLOGITS, BLABELS, gamma=0.0, alpha=None),
        np_bce(np_sigmoid(BLOGITS), BLABELS))
  easy = L.focal_loss(LOGITS, LABELS) <= L.softmax_cross_entropy(LOGITS, LABELS) + 1e-7
  assert bool(jnp.all(easy))  # (1 - p_t)^gamma <= 1 down-weights every example


# ------------------------------------------------------------------ LM loss (LOSS-22)


def test_next_token_cross_entropy_shifts_and_masks_padding():
  logits = RNG.normal(size=(2, 4, K)).astype(np.float32)
  tokens = RNG.integers(0, K, size=(2, 4))
  token_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], np.float32)
  per_tok = np_ce(logits[:, :-1], np.eye(K)[tokens[:, 1:]])
  close(L.next_token_cross_entropy(logits, tokens, token_mask=token_mask),
        per_tok * token_mask[:, 1:])
  want = (per_tok * token_mask[:, 1:]).sum() / token_mask[:, 1:].sum()
  close(L.next_token_cross_entropy(logits, tokens, token_mask=token_mask, reduction="mean"), want)


# ------------------------------------------------------------------ reductions and masks


REGISTERED = ["mse", "mae", "huber", "reconstruction", "cross_entropy", "focal", "binary_focal",
              "binary_cross_entropy"]


def _args(name):
  if name in ("cross_entropy", "focal"):
    return LOGITS, LABELS
  if name in ("binary_focal", "binary_cross_entropy"):
    return BLOGITS, BLABELS
  return PRED, TRUE


@pytest.mark.parametrize("name", REGISTERED)
def test_reductions_and_masks(name):
  fn = L.LOSSES.get(name)
  out, tgt = _args(name)
  v = np.asarray(fn(out, tgt), np.float64)
  assert v.shape == (B,)
  close(fn(out, tgt, reduction="sum"), v.mean() * B)  # sum = mean x count
  mask = np.array([1, 0, 1, 1, 0, 1, 1, 1], np.float32)
  close(fn(out, tgt, mask=mask, reduction="mean"), v[mask > 0].mean())
  close(fn(out, tgt, mask=mask, reduction="none"), v * mask)
  w = np.linspace(0.1, 2.0, B)
  close(fn(out, tgt, weights=w, mask=mask, reduction="mean"),
        (w * mask * v).sum() / (w * mask).sum())


class MaskPropertyTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @settings(max_examples=10, deadline=None)
  @given(dt.arrays(B, np.bool_).filter(np.any), st.floats(-1e3, 1e3, width=32))
  def test_masked_examples_do_not_change_the_mean(self, keep, junk):
    out = PRED.copy()
    out[~keep] = junk  # anything in masked rows
    got = self.variant(lambda o, m: L.mean_squared_error(o, TRUE, mask=m, reduction="mean"))(
        out, keep)
    chex.assert_shape(got, ())
    close(got, ((PRED[keep].astype(np.float64) - TRUE[keep])**2).mean(), rtol=1e-5)


# ------------------------------------------------------------------ entry-point shape checks


@pytest.mark.parametrize("fn,outputs,targets,hint", [
    (L.softmax_cross_entropy, LOGITS, LABELS[:, None], "softmax_cross_entropy: labels must be"),
    (L.focal_loss, LOGITS, ONEHOT[:, :3], "focal_loss: labels must be"),
    (L.binary_cross_entropy_with_logits, BLOGITS, BLABELS[:, None],
     "binary_cross_entropy_with_logits: outputs"),
    (L.mean_squared_error, PRED[:, 0], TRUE[:, :1], "mean_squared_error: outputs"),
    (L.huber_loss, PRED, TRUE[:, :2], "huber_loss: outputs"),
])
def test_mismatched_shapes_fail_at_the_entry_point_with_a_readable_message(fn, outputs, targets,
                                                                           hint):
  # Without the check these would broadcast ((B,) - (B, 1) is (B, B)) and train on nonsense.
  with pytest.raises(AssertionError) as err:
    fn(outputs, targets)
  msg = str(err.value)
  assert hint in msg and str(tuple(np.shape(targets))) in msg
  with pytest.raises(AssertionError, match="labels must be"):  # also at trace time, under jit
    jax.jit(L.softmax_cross_entropy)(LOGITS, LABELS[:, None])


def test_entry_checks_accept_every_documented_layout():
  chex.assert_shape(L.softmax_cross_entropy(LOGITS[0], LABELS[0]), ())  # one example (vmap)
  seq = RNG.normal(size=(2, 3, K)).astype(np.float32)
  chex.assert_shape(L.softmax_cross_entropy(seq, RNG.integers(0, K, (2, 3))), (2, 3))
  chex.assert_shape(L.binary_cross_entropy_with_logits(BLOGITS[:, None], BLABELS), (B,))
  chex.assert_shape(L.mean_squared_error(PRED[:, :1], TRUE[:, 0]), (B,))
  per_example = jax.vmap(jax.grad(lambda z, y: L.softmax_cross_entropy(z, y)))(LOGITS, LABELS)
  chex.assert_shape(per_example, LOGITS.shape)


def test_unknown_reduction_is_a_config_error():
  with pytest.raises(ConfigError, match="reduction"):
    L.mean_squared_error(PRED, TRUE, reduction="avg")


# ------------------------------------------------------------------ build_loss


def test_build_loss_binds_hyperparameters_and_ignores_reduction():
  cfg = ml_collections.ConfigDict(dict(name="huber", reduction="mean", delta=0.3))
  fn = L.build_loss(cfg)
  close(fn(PRED, TRUE), np_huber(PRED.astype(np.float64) - TRUE, 0.3).mean(-1))
  fn = L.build_loss({"name": "weighted_cross_entropy", "class_weights": [1.0] * K})
  close(fn(LOGITS, LABELS), np_ce(LOGITS, ONEHOT))
  assert L.build_loss({"name": "cross_entropy"}) is L.softmax_cross_entropy


def test_build_loss_errors_name_the_bad_key():
  with pytest.raises(ConfigError, match="dleta.*delta"):
    L.build_loss({"name": "huber", "dleta": 1.0})
  with pytest.raises(ConfigError, match="class_weights"):
    L.build_loss({"name": "weighted_cross_entropy"})
  with pytest.raises(ConfigError, match="huber"):
    L.build_loss({"name": "hubber"})


def test_weighted_sum_config_is_the_weighted_sum_of_its_components():
  """LOSS-12 from a config: 0.3 * BCE + 0.7 * binary focal, per example, vs NumPy."""
  import numpy as np
  from dlcore.losses import build_loss
  logits = np.array([-2.0, -0.1, 0.3, 3.0], np.float32)
  labels = np.array([0, 1, 1, 0], np.float32)
  fn = build_loss({"name": "weighted_sum", "components": {
      "binary_cross_entropy": {"weight": 0.3},
      "binary_focal": {"weight": 0.7, "gamma": 2.0, "alpha": 0.25}}})
  p = 1 / (1 + np.exp(-logits.astype(np.float64)))
  bce = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
  pt = np.where(labels == 1, p, 1 - p)
  at = np.where(labels == 1, 0.25, 0.75)
  focal = -at * (1 - pt)**2 * np.log(pt)
  np.testing.assert_allclose(np.asarray(fn(logits, labels)), 0.3 * bce + 0.7 * focal, rtol=1e-5)
