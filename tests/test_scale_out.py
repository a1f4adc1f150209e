"""Scale-out on 8 fake CPU devices: FSDP (state sharded over `data`), a 2 (data) x 4 (model)
mesh with tensor-parallel Transformer rules, and a checkpoint written under FSDP on 8 devices
continuing on 1 device (small Transformer) and on 2 processes x 4 devices (MLP with
BatchNorm), each giving the 1-device training curve; the per-device state bytes under FSDP; the
sharding rules' errors. (The pmap mode: tests/test_trainer.py.)"""

from __future__ import annotations

import subprocess
import sys

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from dlcore.errors import ConfigError
from dlcore.train import loop, mesh as mesh_lib
from dlcore.train.metric_logger import read_metrics
from dlcore.train.sharding import TENSOR_PARALLEL_RULES, bytes_per_device, spec_for
from experiments import make_task
from launch import run as launch_run
from tests.test_sequence_tasks import SHAKESPEARE_LIKE
from tests.test_trainer import digits_config
from conftest import REPO
from tests.test_transformer_tasks import gpt_config

MESHES = {"fsdp8": dict(num_devices=8, fsdp=True, fsdp_min_size=0),
          "tp2x4": dict(num_devices=8, model=4, rules="tensor_parallel")}


def train_losses(workdir) -> list[float]:
  return [e["loss"] for e in read_metrics(workdir / "metrics.jsonl") if e["split"] == "train"]


def run(config, workdir, **mesh):
  config.mesh.update(mesh)
  state, _ = loop.run(make_task(config), workdir)
  return state, train_losses(workdir)


def check_same_params(state, ref_state, name):
  """Every parameter within 1e-3 of its norm, except the attention key biases: softmax is
  invariant to q·b_k, so their gradient is 0 in exact arithmetic and Adam turns the rounding
  noise (which differs with the reduction order) into ±lr steps."""
  flat = jax.tree_util.tree_flatten_with_path(state.parts["model"].params)[0]
  ref = jax.tree.leaves(ref_state.parts["model"].params)
  for (path, a), b in zip(flat, ref):
    where = jax.tree_util.keystr(path)
    if "'key']['bias'" in where:
      continue
    a, b = np.asarray(a), np.asarray(b)
    assert np.linalg.norm(a - b) <= 1e-3 * np.linalg.norm(b) + 1e-6, (name, where)


def tiny_gpt(tmp_path, steps):
  text = tmp_path / "corpus.txt"
  text.write_text(SHAKESPEARE_LIKE)
  c = gpt_config(text, steps=steps)
  c.model.update(num_heads=4, d_model=16, d_ff=32)
  c.train.update(batch_size=8, log_every=10, eval_every=0, checkpoint_every=50)
  c.evals = {"test": dict(type="nll", split="valid", at_end=True)}
  return c


def test_a_small_transformer_has_the_one_device_curve_under_fsdp_and_a_2x4_mesh(tmp_path):
  ref_state, ref = run(tiny_gpt(tmp_path, 100), tmp_path / "one", num_devices=1)
  assert len(ref) == 10 and ref[-1] < 0.8 * ref[0]
  for name, mesh in MESHES.items():
    state, losses = run(tiny_gpt(tmp_path, 100), tmp_path / name, **mesh)
    np.testing.assert_allclose(losses, ref, rtol=1e-4, err_msg=name)
    check_same_params(state, ref_state, name)
    if name == "fsdp8":  # parameters + Adam moments: 1/8 per device (+ replicated counters)
      held, total = bytes_per_device(state.parts)
      assert held <= total * (1 / 8 + 0.05), (held, total)
    else:  # the heads of every attention projection are split over `model`
      flat = jax.tree_util.tree_flatten_with_path(state.parts["model"].params)[0]
      specs = {jax.tree_util.keystr(k): x.sharding.spec for k, x in flat}
      query = [v for k, v in specs.items() if "['query']['kernel']" in k]
      assert query and all(v == P(None, "model", None) for v in query), specs
  # Written under FSDP on 8 devices at step 50, continued on 1 device to step 100.
  run(tiny_gpt(tmp_path, 50), tmp_path / "moved", **MESHES["fsdp8"])
  state, losses = run(tiny_gpt(tmp_path, 100), tmp_path / "moved", num_devices=1,
                      fsdp=False)
  np.testing.assert_allclose(losses, ref, rtol=1e-4)
  assert all(len(x.sharding.device_set) == 1 for x in jax.tree.leaves(state.parts))


def mlp_config(steps, **mesh):
  """digits_mlp with BatchNorm, no dropout, a constant learning rate (a run stopped at step 50
  then continued has the same schedule as one run of 100 steps)."""
  c = digits_config(num_steps=steps, log_every=10, checkpoint_every=50)
  c.model.update(batch_norm=True, dropout_rate=0.0)
  c.optimizer.schedule.name = "constant"
  c.mesh.update(mesh)
  return c


def test_an_mlp_with_batchnorm_has_the_one_device_curve_under_fsdp_then_2_processes(tmp_path):
  """Steps 1-50 under FSDP on 8 devices, 51-100 on 2 processes: the 1-device curve. (The
  2 x 4 mesh with an MLP: benchmarks/scale_out.py; the pmap mode: tests/test_trainer.py.)"""
  launch_run.train(mlp_config(100, num_devices=1), tmp_path / "one")
  curves = {"one": train_losses(tmp_path / "one")}
  # Written under FSDP on 8 devices at step 50, continued by 2 processes x 4 devices
  # (launch.multiprocess: JAX's distributed runtime, coordinator on localhost) to step 100.
  moved = tmp_path / "moved"
  launch_run.train(mlp_config(50, **MESHES["fsdp8"]), moved)
  args = ["--config", str(REPO / "configs" / "digits_mlp.py"), "--workdir", str(moved),
          "--config.train.num_steps=100", "--config.train.log_every=10",
          "--config.train.checkpoint_every=50", "--config.model.batch_norm=True",
          "--config.model.dropout_rate=0.0", "--config.optimizer.schedule.name=constant",
          "--config.train.progress=False"]
  proc = subprocess.run([sys.executable, "-m", "launch.multiprocess", "--num_processes", "2",
                         "--devices_per_process", "4", "--", *args], cwd=REPO,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
  assert "resumed from checkpoint at step 50" in proc.stdout
  assert "2 process(es)" in proc.stdout
  np.testing.assert_allclose(train_losses(moved), curves["one"], rtol=1e-4, atol=1e-6)


def test_sharding_rules_place_arrays_and_reject_bad_rules():
  mesh = mesh_lib.make_mesh(8, model=4)
  assert dict(mesh.shape) == {"data": 2, "model": 4}
  path = "parts/model/opt_state/0/mu/layer_1/self_attention/key/kernel"
  assert spec_for(path, (16, 4, 4), mesh, TENSOR_PARALLEL_RULES, True, 0) == P(
      "data", "model", None)  # the rule's axis, then FSDP on the largest free dimension
  assert spec_for("x/bias", (3,), mesh, (), True, 0) == P(None)  # 2 does not divide 3
  assert spec_for("x/kernel", (64, 8), mesh, (), True, 1024) == P(None, None)  # too small
  with pytest.raises(ConfigError, match="do not divide"):
    spec_for("a/ffn/dense_1/kernel", (16, 6), mesh, TENSOR_PARALLEL_RULES, False, 0)
  with pytest.raises(ConfigError, match="axis 'tensor'"):
    spec_for("w", (8,), mesh, ((r"w", ("tensor",)),), False, 0)
  with pytest.raises(ConfigError, match="mesh.model=3"):
    mesh_lib.make_mesh(8, model=3)


def test_logical_axis_rules_give_the_megatron_layout_and_shard_named_dimensions():
  """logical_rules over the layers' logical axis names: ('heads', 'model'), ('mlp', 'model')
  places a GPT's arrays as the Megatron table written out by hand (below); ('vocab', 'model')
  splits the embedding rows; an unknown logical name is one ConfigError that lists them."""
  import ml_collections
  import jax.numpy as jnp
  from dlcore.models import build_model
  from dlcore.nn.logical_axes import TENSOR_PARALLEL
  from dlcore.train.sharding import state_shardings
  assert {axis for _, axis in TENSOR_PARALLEL} == {mesh_lib.MODEL_AXIS}
  by_hand = {"attention/query/kernel": P(None, "model", None),
             "attention/key/bias": P("model", None), "attention/out/kernel": P("model", None, None),
             "attention/out/bias": P(None), "ffn/dense_1/kernel": P(None, "model"),
             "ffn/dense_1/bias": P("model"), "ffn/dense_2/kernel": P("model", None),
             "embed/embedding": P(None, None)}
  gpt = build_model(dict(name="gpt", vocab_size=12, num_layers=1, num_heads=4, d_model=16,
                         max_len=8), 12)
  params = jax.eval_shape(gpt.init, jax.random.key(0), jnp.zeros((1, 8), jnp.int32))
  mesh = mesh_lib.make_mesh(8, model=4)

  def specs(**mesh_config):
    out = state_shardings(mesh, params, ml_collections.ConfigDict(mesh_config))
    flat = jax.tree_util.tree_flatten_with_path(out)[0]
    return {"/".join(str(getattr(k, "key", k)) for k in path): s.spec for path, s in flat}

  logical = specs(logical_rules=TENSOR_PARALLEL)
  assert logical == specs(rules="tensor_parallel")
  for suffix, spec in by_hand.items():
    assert [v for k, v in logical.items() if k.endswith(suffix)] == [spec], suffix
  vocab = specs(logical_rules=(("vocab", "model"),))
  assert vocab["params/embedder/embed/embedding"] == P("model", None)
  assert vocab["params/block_0/ffn/dense_1/kernel"] == P(None, None)
  with pytest.raises(ConfigError, match="logical names: embed, heads"):
    specs(logical_rules=(("hidden", "model"),))


def test_a_task_that_places_its_own_state_rejects_mesh_sharding_options():
  import dataclasses
  config = digits_config(num_steps=1)
  config.mesh.update(num_devices=8, fsdp=True)
  task = dataclasses.replace(make_task(config), state_sharding=lambda mesh, abstract: None)
  with pytest.raises(ConfigError, match="Task.state_sharding.*mesh.fsdp"):
    loop.initial_state(task)
