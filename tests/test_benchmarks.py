"""Smoke tests of benchmarks/: each script runs with tiny settings, exits 0, prints its RESULT."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
TINY = ("--steps", "3", "--warmup", "1", "--repeats", "1", "--model", "mlp")


def _mnist_dir() -> pathlib.Path | None:
  """$DLCORE_DATA_DIR, else <repo>/../shared/data; None when it has no mnist/ folder."""
  for c in (os.environ.get("DLCORE_DATA_DIR", ""), str(REPO.parent / "shared" / "data")):
    if c and (pathlib.Path(c) / "mnist").is_dir():
      return pathlib.Path(c)
  return None


def _run(module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
  full_env = dict(os.environ, **(env or {}))
  # conftest.py forces 8 fake CPU devices; one device compiles faster and is what we time.
  full_env["XLA_FLAGS"] = " ".join(f for f in full_env.get("XLA_FLAGS", "").split()
                                   if "xla_force_host_platform_device_count" not in f)
  full_env["PYTHONPATH"] = os.pathsep.join(
      p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p)
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                        timeout=180, env=full_env, cwd=REPO)


def _result(stdout: str, name: str) -> float:
  match = re.search(rf"^RESULT {name} model=mlp ratio=([0-9.]+)( host_ratio=[0-9.]+)?$", stdout,
                    re.MULTILINE)
  assert match, f"no 'RESULT {name} model=mlp ratio=...' line in:\n{stdout}"
  ratio = float(match.group(1))
  assert ratio > 0
  return ratio


def test_train_step_overhead_runs_without_data():
  """The no-data fallback (random MNIST-shaped batch) builds the same pieces as setup()."""
  proc = _run("benchmarks.train_step_overhead", *TINY, "--no_data")
  assert proc.returncode == 0, proc.stderr[-3000:]
  _result(proc.stdout, "train_step_ratio")
  assert "max |loss diff| over 3 steps = 0.00e+00" in proc.stdout or \
      re.search(r"max \|loss diff\| over 3 steps = [0-9.]+e-0[6-9]", proc.stdout), proc.stdout


def test_input_pipeline_runs():
  data_dir = _mnist_dir()
  if data_dir is None:
    pytest.skip("needs MNIST: set DLCORE_DATA_DIR to a dir with mnist/ (or ../shared/data)")
  proc = _run("benchmarks.input_pipeline", *TINY, "--loader_batches", "5",
              env={"DLCORE_DATA_DIR": str(data_dir)})
  assert proc.returncode == 0, proc.stderr[-3000:]
  _result(proc.stdout, "input_pipeline")
  assert "dlcore TrainLoader" in proc.stdout and "grain" in proc.stdout


def test_input_pipeline_without_data_exits_2(tmp_path):
  proc = _run("benchmarks.input_pipeline", *TINY, "--data_dir", str(tmp_path))
  assert proc.returncode == 2
  assert "DLCORE_DATA_DIR" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cnn_throughput_runs_small_on_cpu():
  """The ResNet-50 bf16 throughput script at a CPU-sized setting (a CIFAR ResNet-8, 32x32,
  float32: XLA:CPU's bf16 convolutions are slow): the GPU run's code path at a small size."""
  proc = _run("benchmarks.cnn_throughput", "--model", "cifar_resnet", "--depth", "8",
              "--image_size", "32", "--batch_size", "4", "--num_classes", "10", "--steps", "2",
              "--warmup", "1", "--repeats", "1", "--dtype", "float32")
  assert proc.returncode == 0, proc.stderr[-3000:]
  match = re.search(r"^RESULT cnn_throughput model=cifar_resnet8 images_per_s=([0-9.]+) "
                    r"batch=4 size=32 dtype=float32$", proc.stdout, re.MULTILINE)
  assert match and float(match.group(1)) > 0, proc.stdout
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  assert result["params"] == 75290  # ResNet-8, option A: 464 + 4672 + 13952 + 55552 + 650
  assert result["devices"].startswith("1 x CPU")


def test_ablation_variant_with_nothing_removed_is_make_train_step():
  """train_step_overhead --ablate times `make_variant_step`: with nothing removed it computes
  exactly what dlcore/train/step.py's `make_train_step` does (states and metrics bitwise, on
  finite steps and on a NaN batch that both skip), and each ablation removes what it names."""
  import jax
  import jax.numpy as jnp
  import numpy as np
  import optax

  from benchmarks.train_step_overhead import check_variant_mirrors, make_variant_step
  from dlcore.metrics import Average
  from dlcore.train.state import TrainState
  from dlcore.train.step import make_train_step

  def loss_fn(params, state, batch, rngs):
    noise = jax.random.normal(rngs["dropout"], batch["y"].shape) * 0.01
    err = batch["x"] @ params["w"] + noise - batch["y"]
    per_example = jnp.mean(err**2, axis=1)
    count = state.model_state["count"] + 1
    return per_example.mean(), {"metrics": {"loss": Average.from_values(per_example)},
                                "model_state": {"count": count}}

  rng = np.random.default_rng(0)
  state = TrainState.create(rng=jax.random.PRNGKey(3), params={"w": jnp.asarray(
      rng.normal(size=(4, 2)), jnp.float32)}, tx=optax.adam(0.1),
      model_state={"count": jnp.zeros((), jnp.int32)})
  batches = [{"x": jnp.asarray(rng.normal(size=(8, 4)), jnp.float32),
              "y": jnp.asarray(rng.normal(size=(8, 2)), jnp.float32)} for _ in range(3)]
  batches.append({"x": jnp.full((8, 4), jnp.nan), "y": jnp.zeros((8, 2))})
  variant, real = jax.jit(make_variant_step(loss_fn)), jax.jit(make_train_step(loss_fn))
  a = b = state
  for batch in batches:
    a, ma = variant(a, batch)
    b, mb = real(b, batch)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    jax.tree.map(lambda x, y: np.testing.assert_array_equal(x, y), (a, ma.unpack()),
                 (b, mb.unpack()))
  assert int(b.step) == 3 and int(b.nonfinite_step) == 3 and int(b.model_state["count"]) == 3
  assert check_variant_mirrors(loss_fn, state, batches[0]) == 0.0

  unguarded, _ = jax.jit(make_variant_step(loss_fn, nan_guard=False))(a, batches[-1])
  assert np.isnan(np.asarray(unguarded.params["w"])).all() and int(unguarded.step) == 4
  _, m = jax.jit(make_variant_step(loss_fn, grad_norm=False))(state, batches[0])
  assert set(m.unpack()) == {"loss"}
  _, m = jax.jit(make_variant_step(loss_fn, grad_norm=False, metrics=False))(state, batches[0])
  assert m == {}


def test_rl_throughput_reports_rollout_ppo_and_sweep():
  proc = _run("benchmarks.rl_throughput", "--envs", "4", "--steps", "20", "--updates", "2",
              "--repeats", "1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  rollout = re.search(r"^RESULT rollout jitted_steps_per_s=(\d+) python_steps_per_s=(\d+)$",
                      proc.stdout, re.MULTILINE)
  sweep = re.search(r"^RESULT ppo agent_steps_per_s=(\d+) sweep_agents=16 sweep_ratio=([0-9.]+)",
                    proc.stdout, re.MULTILINE)
  assert rollout and sweep, proc.stdout
  assert int(rollout.group(1)) > 0 and float(sweep.group(2)) > 0


def test_gpt_throughput_reports_tokens_flops_and_matmul_fraction():
  proc = _run("benchmarks.gpt_throughput", "--layers", "1", "--d_model", "32", "--heads", "2",
              "--context", "16", "--batch", "4", "--steps", "2", "--repeats", "1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  m = re.search(r"^RESULT gpt tokens_per_s=(\d+) step_gflops=([0-9.]+) achieved_tflops=([0-9.]+)"
                r" mfu=nan matmul_frac=([0-9.]+)$", proc.stdout, re.MULTILINE)
  assert m, proc.stdout
  # XLA's count is close to the 6NT + 12LT²d estimate printed beside it
  est = float(re.search(r"estimate ([0-9.]+)\)", proc.stdout).group(1))
  assert float(m.group(2)) > 0 and abs(float(m.group(2)) - est) < 0.5 * est


def test_positional_encoding_study_writes_its_figure(tmp_path):
  out = tmp_path / "pe.png"
  proc = _run("benchmarks.positional_encoding_study", "--steps", "4", "--every", "2", "--out",
              str(out))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert re.search(r"^RESULT pe sinusoidal=[0-9.]+ learned=[0-9.]+ none=[0-9.]+$", proc.stdout,
                   re.MULTILINE), proc.stdout
  assert out.stat().st_size > 1000
