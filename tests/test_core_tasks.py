"""The training core carries the coming task shapes without special cases (issue: one training
core). Each task is built directly on the `Task` protocol and run by the one loop, then run
again in two halves (the second resuming from the first's checkpoint): the final states are
bitwise equal.

(a) two parts stepping in alternation (an adversarial pair with two optimizers);
(b) no dataset: K environment steps plus an update under `lax.scan`, env state and a buffer in
    `extra`;
(c) a sequence task whose evaluator decodes greedily and scores on the host;
(d) a warm start from another workdir (all parameters, a subtree, a shape mismatch);
(e) a full-batch graph task with node masks.
"""

from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from dlcore.data.loader import TrainLoader
from dlcore.decode import greedy_decode
from dlcore.errors import ConfigError
from dlcore.evals import Evaluator
from dlcore.evals.decode import greedy_decode_evaluator
from dlcore.metrics import Average, Confusion, Perplexity
from dlcore.train import loop, mesh as mesh_lib
from dlcore.train.state import Part, TrainState
from dlcore.train.step import make_train_step, step_rngs
from dlcore.train.task import Task
from dlcore.train.throughput import LOGGED as THROUGHPUT
from dlcore.train.warm_start import warm_start


def config(num_steps: int, **extra) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict(dict(
      name="core", experiment="core", seed=0,
      train=dict(num_steps=num_steps, log_every=5, checkpoint_every=5, max_checkpoints=2,
                 progress=False)))
  for k, v in extra.items():
    c[k] = v
  return c


def run_and_resume(make_task, tmp_path, num_steps: int):
  """(state, result) of one uninterrupted run; asserts a run split in two halves ends bitwise
  equal (state and logged train metrics), and that the train step was traced once per run."""
  def counted(task):
    chex.clear_trace_counter()  # the count is per run (each run compiles its own step)
    task.train_step = chex.assert_max_traces(task.train_step, n=1)
    return task

  full_state, full = loop.run(counted(make_task(num_steps)), tmp_path / "full")
  half_state, half = loop.run(counted(make_task(num_steps // 2)), tmp_path / "halves")
  assert half["step"] == num_steps // 2
  resumed_state, resumed = loop.run(counted(make_task(num_steps)), tmp_path / "halves")
  assert full["status"] == resumed["status"] == "finished"
  chex.assert_trees_all_equal(arrays(full_state), arrays(resumed_state))
  timing = {"time", "elapsed", "steps_per_sec", *THROUGHPUT}  # wall-clock rates differ
  drop = lambda e: {k: v for k, v in e.items() if k not in timing}
  assert ([drop(e) for e in _events(tmp_path / "full", "train")]
          == [drop(e) for e in _events(tmp_path / "halves", "train")])
  return full_state, full


def arrays(state) -> dict:
  """{path: host array} of a state (the static optimizers differ between runs)."""
  flat = jax.tree_util.tree_flatten_with_path(jax.device_get(state))[0]
  return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in flat}


# ---------------------------------------------------------------------------------------- (a)
class Affine(nn.Module):
  @nn.compact
  def __call__(self, x):
    return nn.Dense(1)(x)


def adversarial(num_steps: int):
  """(task, (d_loss, g_loss)). A 1-D GAN: G(z) = a z + b against a logistic D, data N(3, 0.5).
  D steps first, then G
  against the new D (non-saturating loss), each with its own Adam."""
  mesh = mesh_lib.make_mesh(1)
  real = np.random.default_rng(0).normal(3.0, 0.5, (512, 1)).astype(np.float32)
  g, d = Affine(), Affine()

  def init(rng):
    kg, kd, k = jax.random.split(rng, 3)
    x = jnp.zeros((1, 1))
    return TrainState.create(rng=k, parts={
        "discriminator": Part.create(d.init(kd, x)["params"], optax.adam(0.05)),
        "generator": Part.create(g.init(kg, x)["params"], optax.adam(0.05))})

  def fake(state, rngs, n):
    z = jax.random.normal(rngs["latent"], (n, 1))
    return g.apply({"params": state.part("generator").params}, z)

  def d_loss(params, state, batch, rngs):
    x = batch["inputs"]
    real_logit = d.apply({"params": params}, x)
    fake_logit = d.apply({"params": params}, jax.lax.stop_gradient(fake(state, rngs, len(x))))
    loss = (optax.sigmoid_binary_cross_entropy(real_logit, 1.0).mean()
            + optax.sigmoid_binary_cross_entropy(fake_logit, 0.0).mean())
    return loss, {"metrics": {"loss": Average(loss, jnp.float32(1))}}

  def g_loss(params, state, batch, rngs):
    z = jax.random.normal(rngs["latent"], (len(batch["inputs"]), 1))
    logit = d.apply({"params": state.part("discriminator").params},
                    g.apply({"params": params}, z))
    loss = optax.sigmoid_binary_cross_entropy(logit, 1.0).mean()
    return loss, {"metrics": {"loss": Average(loss, jnp.float32(1))}}

  step = make_train_step({"discriminator": d_loss, "generator": g_loss}, streams=("latent",))
  return Task(config=config(num_steps), mesh=mesh, init=init, train_step=step,
              batches=TrainLoader({"inputs": real}, 64, seed=0)), (d_loss, g_loss)


def adversarial_task(num_steps: int) -> Task:
  return adversarial(num_steps)[0]


def test_two_parts_step_in_alternation(tmp_path):
  task, task_losses = adversarial(2)
  state, _ = loop.initial_state(task)
  batch = mesh_lib.put_batch(next(task.batches), task.mesh)
  new, metrics = jax.jit(task.train_step)(state, batch)
  names = metrics.unpack()
  assert {"discriminator/loss", "generator/loss", "discriminator/grad_norm",
          "generator/grad_norm"} <= set(names)
  # by hand: D's Adam step, then G's gradient taken against the *new* D
  rngs = step_rngs(state.rng, state.step, ("latent",))
  d_part, g_part = state.part("discriminator"), state.part("generator")
  d_grads = jax.grad(lambda p: task_losses[0](p, state, batch, rngs)[0])(d_part.params)
  upd, _ = d_part.tx.update(d_grads, d_part.opt_state, d_part.params)
  d_new = optax.apply_updates(d_part.params, upd)
  chex.assert_trees_all_close(new.part("discriminator").params, d_new, rtol=1e-6)
  mid = state.replace_part("discriminator", params=d_new)
  g_grads = jax.grad(lambda p: task_losses[1](p, mid, batch, rngs)[0])(g_part.params)
  upd, _ = g_part.tx.update(g_grads, g_part.opt_state, g_part.params)
  chex.assert_trees_all_close(new.part("generator").params,
                              optax.apply_updates(g_part.params, upd), rtol=1e-6)
  stale = jax.grad(lambda p: task_losses[1](p, state, batch, rngs)[0])(g_part.params)
  assert not np.allclose(jax.tree.leaves(stale)[0], jax.tree.leaves(g_grads)[0])  # control


def test_adversarial_task_resumes_exactly(tmp_path):
  state, result = run_and_resume(adversarial_task, tmp_path, 20)
  assert int(state.step) == 20
  assert set(state.parts) == {"discriminator", "generator"}


# ---------------------------------------------------------------------------------------- (b)
K = 8  # environment steps per training step


def bandit_task(num_steps: int) -> Task:
  """A 4-armed bandit (arm 2 pays 1, others 0) played K times per step inside the jitted step
  under lax.scan; env state (a step counter and its key) and a replay buffer of the last K
  (action, reward) pairs live in `extra`; REINFORCE with a baseline updates the policy."""
  mesh = mesh_lib.make_mesh(1)

  def init(rng):
    return TrainState.create(rng=rng, params={"logits": jnp.zeros(4)}, tx=optax.sgd(0.5),
                             extra={"env_steps": jnp.zeros((), jnp.int32),
                                    "buffer": {"action": jnp.zeros(K, jnp.int32),
                                               "reward": jnp.zeros(K, jnp.float32)}})

  def collect(state, batch, rngs, *args):
    def env_step(count, key):
      action = jax.random.categorical(key, state.params["logits"])
      return count + 1, (action, (action == 2).astype(jnp.float32))

    keys = jax.random.split(rngs["env"], K)
    count, (actions, rewards) = jax.lax.scan(env_step, state.extra["env_steps"], keys)
    state = state.replace(extra={"env_steps": count,
                                 "buffer": {"action": actions, "reward": rewards}})
    return state, state.extra["buffer"], {"reward": Average(rewards.sum(), jnp.float32(K))}

  def loss(params, state, batch, rngs):
    logp = jax.nn.log_softmax(params["logits"])[batch["action"]]
    advantage = batch["reward"] - batch["reward"].mean()
    value = -(logp * advantage).mean()
    return value, {"metrics": {"loss": Average(value, jnp.float32(1))}}

  return Task(config=config(num_steps), mesh=mesh, init=init,
              train_step=make_train_step(loss, collect=collect, streams=("env",)), batches=None)


def test_environment_task_without_dataset_resumes_exactly(tmp_path):
  state, _ = run_and_resume(bandit_task, tmp_path, 40)
  assert int(state.extra["env_steps"]) == 40 * K  # env state carried across steps and resume
  assert int(jnp.argmax(state.params["logits"])) == 2  # it learned the paying arm
  rewards = [e["reward"] for e in _events(tmp_path / "full", "train")]
  assert rewards[-1] > rewards[0]


# ---------------------------------------------------------------------------------------- (c)
V, L = 8, 5


class NextToken(nn.Module):
  @nn.compact
  def __call__(self, tokens):
    return nn.Dense(V)(nn.Embed(V, 16)(tokens))


def sequence_task(num_steps: int) -> Task:
  """Learn t -> (t + 1) mod V; the evaluator decodes L tokens greedily from each start token and
  reports the exact-match rate against start+1, ..., start+L on the host."""
  mesh = mesh_lib.make_mesh(1)
  model = NextToken()
  starts = np.arange(V, dtype=np.int32)
  targets = (starts[:, None] + np.arange(1, L + 1)[None]) % V
  train_tokens = np.tile(starts, 32)

  def init(rng):
    return TrainState.create(rng=rng, params=model.init(rng, jnp.zeros(1, jnp.int32))["params"],
                             tx=optax.adam(0.1))

  def loss(params, state, batch, rngs):
    logits = model.apply({"params": params}, batch["inputs"])
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, (batch["inputs"] + 1) % V)
    confusion = Confusion.from_batch(jnp.argmax(logits, -1), (batch["inputs"] + 1) % V, V)
    return ce.mean(), {"metrics": {"loss": Average.from_values(ce), "confusion": confusion,
                                   "perplexity": Perplexity.from_nll(ce)}}

  @jax.jit
  def decode(state, batch):
    step = lambda carry, tokens: (carry, model.apply({"params": state.params}, tokens))
    return greedy_decode(step, None, batch["inputs"], L)

  score = lambda pred, target: {"exact_match": float(np.mean(np.all(pred == target, axis=1)))}
  evaluator = Evaluator("decode", greedy_decode_evaluator(
      decode, {"inputs": starts, "target": targets}, V, mesh, score), every=10)
  return Task(config=config(num_steps), mesh=mesh, init=init, train_step=make_train_step(loss),
              batches=TrainLoader({"inputs": train_tokens}, 32, seed=0), evaluators=[evaluator])


def test_sequence_task_decodes_greedily(tmp_path):
  state, result = run_and_resume(sequence_task, tmp_path, 60)
  assert result["decode"]["exact_match"] == 1.0 and result["decode"]["num_examples"] == V
  # additive statistics other than averages leave the step and merge over the log interval
  last = _events(tmp_path / "full", "train")[-1]
  assert last["perplexity"] == pytest.approx(np.exp(last["loss"]), rel=1e-5)
  first = _events(tmp_path / "full", "decode")[0]
  assert first["step"] == 10 and first["exact_match"] <= 1.0


def test_greedy_decode_matches_a_python_loop():
  table = jax.random.normal(jax.random.PRNGKey(1), (V, V))
  step = lambda carry, tokens: (carry + 1, table[tokens] + carry)
  out = greedy_decode(step, jnp.zeros(()), jnp.array([0, 3]), 4)
  want, tokens, carry = [], np.array([0, 3]), 0.0
  for _ in range(4):
    tokens = np.argmax(np.asarray(table)[tokens] + carry, axis=-1)
    carry += 1
    want.append(tokens)
  np.testing.assert_array_equal(out, np.stack(want, 1))


# ---------------------------------------------------------------------------------------- (d)
class TwoLayer(nn.Module):
  width: int = 4

  @nn.compact
  def __call__(self, x):
    return nn.Dense(1, name="head")(nn.relu(nn.Dense(self.width, name="encoder")(x)))


def regression_task(num_steps: int, width: int = 4, init_from=None) -> Task:
  mesh = mesh_lib.make_mesh(1)
  model = TwoLayer(width)
  x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
  y = x.sum(1, keepdims=True)

  def init(rng):
    return TrainState.create(rng=rng, params=model.init(rng, x[:1])["params"], tx=optax.adam(0.01))

  def loss(params, state, batch, rngs):
    err = (model.apply({"params": params}, batch["inputs"]) - batch["label"]) ** 2
    return err.mean(), {"metrics": {"loss": Average.from_values(err[:, 0])}}

  c = config(num_steps)
  if init_from is not None:
    c.init_from = init_from
  return Task(config=c, mesh=mesh, init=init, train_step=make_train_step(loss),
              batches=TrainLoader({"inputs": x, "label": y}, 16, seed=0))


def test_warm_start_from_another_workdir(tmp_path):
  source, _ = loop.run(regression_task(10), tmp_path / "source")
  fresh, _ = loop.initial_state(regression_task(1))
  everything = warm_start(fresh, {"workdir": str(tmp_path / "source")})
  chex.assert_trees_all_equal(jax.device_get(everything.params), jax.device_get(source.params))
  encoder = warm_start(fresh, {"workdir": str(tmp_path / "source"), "subtree": "encoder"})
  chex.assert_trees_all_equal(jax.device_get(encoder.params["encoder"]),
                              jax.device_get(source.params["encoder"]))
  chex.assert_trees_all_equal(jax.device_get(encoder.params["head"]),
                              jax.device_get(fresh.params["head"]))  # untouched
  wide, _ = loop.initial_state(regression_task(1, width=5))
  with pytest.raises(ConfigError, match=r"encoder/kernel is \(3, 4\) in the checkpoint but "
                                        r"\(3, 5\) now"):
    warm_start(wide, {"workdir": str(tmp_path / "source")})
  # through the loop: warm-started, then resumed from its own checkpoints (not re-warm-started)
  spec = ml_collections.ConfigDict({"workdir": str(tmp_path / "source"), "subtree": "encoder"})
  state, _ = run_and_resume(lambda n: regression_task(n, init_from=spec), tmp_path / "tuned", 10)
  assert int(state.step) == 10


# ---------------------------------------------------------------------------------------- (e)
def graph_task(num_steps: int) -> Task:
  """Two-community graph (40 nodes), one GCN-style layer by jax.ops.segment_sum message passing,
  full batch: the graph arrays are the step's arguments; the loss uses the train mask, the
  evaluator reports accuracy on the test-mask nodes."""
  mesh = mesh_lib.make_mesh(1)
  rng = np.random.default_rng(0)
  n = 40
  labels = (np.arange(n) >= n // 2).astype(np.int32)
  src, dst = np.nonzero((rng.random((n, n)) < np.where(labels[:, None] == labels[None], 0.3, 0.02)))
  features = ((2 * labels[:, None] - 1) + rng.normal(size=(n, 4))).astype(np.float32)
  train_mask = np.zeros(n, np.float32)
  train_mask[[0, 1, 2, 20, 21, 22]] = 1.0
  test_mask = 1.0 - train_mask
  graph = tuple(jnp.asarray(a) for a in (features, src, dst, labels, train_mask))

  def forward(params, features, src, dst):
    h = features @ params["w"]
    agg = jax.ops.segment_sum(h[src], dst, num_segments=n)
    deg = jax.ops.segment_sum(jnp.ones_like(dst, jnp.float32), dst, num_segments=n)
    return (h + agg) / (1.0 + deg)[:, None]

  def init(rng):
    return TrainState.create(rng=rng, params={"w": 0.1 * jax.random.normal(rng, (4, 2))},
                             tx=optax.adam(0.1))

  def loss(params, state, batch, rngs, features, src, dst, labels, mask):
    ce = optax.softmax_cross_entropy_with_integer_labels(forward(params, features, src, dst),
                                                         labels)
    return (ce * mask).sum() / mask.sum(), {"metrics": {"loss": Average.from_values(ce, mask)}}

  def accuracy(state, args, workdir=None):
    pred = np.asarray(forward(state.params, *args[:3])).argmax(-1)
    return {"accuracy": float((pred == labels)[test_mask > 0].mean())}

  return Task(config=config(num_steps), mesh=mesh, init=init, train_step=make_train_step(loss),
              batches=None, step_args=graph, evaluators=[Evaluator("test", accuracy)])


def test_full_batch_graph_task_with_node_masks(tmp_path):
  _, result = run_and_resume(graph_task, tmp_path, 40)
  assert result["test"]["accuracy"] >= 0.9


def _events(workdir, split):
  from dlcore.train.metric_logger import read_metrics
  return [e for e in read_metrics(workdir / "metrics.jsonl") if e["split"] == split]
