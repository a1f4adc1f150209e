"""LOSS-26 knowledge distillation through the classification trainer (config.distillation).

A digits teacher (MLP, 64 hidden units, 100 steps, 1 device) is trained once into a temporary
workdir. The student's loss is checked against NumPy forward passes of both networks and a NumPy
alpha T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) CE(s, y).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
from hypothesis import example, given, settings, strategies as st

from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError
from dlcore.metrics import compute, merge_all
from dlcore.train import mesh as mesh_lib
from dlcore.train.checkpoint import Checkpointer
from dlcore.train.loop import initial_state
from dlcore.train.metric_logger import read_metrics
from dlcore.train.step import compile_train_step, make_train_step
from experiments import classification
from launch import run
from launch.cli import check_override_keys, load_config_file

from conftest import REPO

TEACHER_FILE = '''
import runpy


def get_config():
  c = runpy.run_path(DIGITS_MLP)["get_config"]()
  c.model.features = (64,)
  c.model.dropout_rate = 0.0
  c.train.update(num_steps=100, log_every=50, eval_every=100, progress=False)
  c.eval.reports = ()
  c.early_stopping.restore_best = False
  c.mesh.num_devices = 1
  c.data.name = DATA_NAME
  return c
'''


def write_teacher_config(directory, data_name: str = "digits") -> str:
  path = directory / f"teacher_{data_name}.py"
  path.write_text(TEACHER_FILE.replace("DIGITS_MLP", repr(str(REPO / "configs" / "digits_mlp.py")))
                  .replace("DATA_NAME", repr(data_name)))
  return str(path)


def student_config(teacher_spec: str, teacher_workdir, **train):
  c = load_config_file(str(REPO / "configs" / "digits_distillation.py"))
  c.distillation.teacher_config = teacher_spec
  c.distillation.teacher_workdir = str(teacher_workdir)
  c.train.update(dict(progress=False, **train))
  c.eval.reports = ()
  c.early_stopping.restore_best = False
  return c


def host(tree):
  return jax.tree.map(np.asarray, jax.device_get(tree))


def saved_state(workdir, step: int):
  """The state saved at `step`, read by Orbax without any dlcore code (host arrays)."""
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Sharding info not provided": the saved one is used
    state = ocp.PyTreeCheckpointer().restore(workdir / "checkpoints" / str(step) / "state")
  return host(state)


def saved_params(workdir, step: int):
  """The params of the state's one part 'model' saved at `step` (host arrays)."""
  return saved_state(workdir, step)["parts"]["model"]["params"]


def digest(directory) -> str:
  """SHA-256 over the names and bytes of every file under `directory`."""
  h = hashlib.sha256()
  for f in sorted(p for p in directory.rglob("*") if p.is_file()):
    h.update(str(f.relative_to(directory)).encode() + f.read_bytes())
  return h.hexdigest()


# ------------------------------------------------------------------ independent NumPy reference
def mlp_logits(params, inputs) -> np.ndarray:
  """relu(x W_h + b_h) W_out + b_out with x = uint8 pixels / 255, flattened (float64)."""
  h = np.asarray(inputs, np.float64).reshape(len(inputs), -1) / 255.0
  for name in sorted(k for k in params if k.startswith("hidden_")):
    h = np.maximum(h @ params[name]["kernel"].astype(np.float64) + params[name]["bias"], 0.0)
  return h @ params["output"]["kernel"].astype(np.float64) + params["output"]["bias"]


def log_softmax(z):
  z = z - z.max(axis=-1, keepdims=True)
  return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def distillation_numpy(s, t, y, temperature, alpha) -> np.ndarray:
  """Per example: alpha T^2 sum_c p_c (log p_c - log q_c) + (1 - alpha) (-log softmax(s)_y),
  p = softmax(t/T) (teacher), q = softmax(s/T) (student)."""
  log_p, log_q = log_softmax(t / temperature), log_softmax(s / temperature)
  kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)
  ce = -log_softmax(s)[np.arange(len(y)), y]
  return alpha * temperature**2 * kl + (1 - alpha) * ce


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
  """(teacher config file, trained workdir, its latest params, digest of its checkpoints)."""
  d = tmp_path_factory.mktemp("teacher")
  spec = write_teacher_config(d)
  result = run.train(load_config_file(spec), d / "run")
  assert result["status"] == "finished" and result["test"]["accuracy"] > 0.8
  return spec, d / "run", saved_params(d / "run", 100), digest(d / "run" / "checkpoints")


@dataclasses.dataclass
class Student:
  """The student's Classifier and Task (all 8 devices) and its initial state on the mesh."""
  c: classification.Classifier
  task: Any
  state: Any


@pytest.fixture(scope="module")
def student(teacher):
  """The student (all 8 devices) and a raw training batch of 64 digits."""
  config = student_config(teacher[0], teacher[1])
  task = classification.make_task(config)
  s = Student(classification.build(config), task, initial_state(task)[0])
  batch = {k: v[:64] for k, v in s.c.data.dataset.split("train").items()}
  return s, batch | {"mask": np.ones((64,), np.float32)}


# ------------------------------------------------------------------ tests
def test_teacher_is_the_latest_checkpoint_replicated_on_the_student_mesh(teacher, student):
  s, _ = student
  ckpt = Checkpointer(teacher[1] / "checkpoints")
  assert ckpt.steps() == [60, 80, 100] and s.c.teacher.step == 100  # the latest of three
  ckpt.close()
  got = host(s.c.teacher.variables)
  assert set(got) == {"params"}  # an MLP without batch norm has no model state
  jax.tree.map(np.testing.assert_array_equal, got["params"], teacher[2])
  with pytest.raises(AssertionError):  # the control: an earlier checkpoint differs
    jax.tree.map(np.testing.assert_array_equal, got["params"], saved_params(teacher[1], 80))
  leaf = jax.tree.leaves(s.c.teacher.variables)[0]
  assert leaf.sharding.mesh.size == s.c.mesh.size == 8  # trained on 1 device, replicated on 8
  # the task passes the same variables to every step as its one extra jit argument
  (args,) = s.task.step_args
  jax.tree.map(np.testing.assert_array_equal, host(args), got)
  assert jax.tree.leaves(args)[0].sharding.mesh.size == 8


@settings(max_examples=10, deadline=None)
@given(temperature=st.floats(0.5, 10.0), alpha=st.floats(0.0, 1.0))
@example(temperature=1.0, alpha=0.0)  # plain cross-entropy
@example(temperature=3.0, alpha=1.0)  # soft targets only
def test_student_loss_equals_numpy(teacher, student, temperature, alpha):
  """The training loss of a batch (train=True; the student has no dropout) equals the NumPy
  objective on NumPy forward passes of the student and the restored teacher."""
  s, batch = student
  t = mlp_logits(teacher[2], batch["inputs"])
  logits = mlp_logits(host(s.state.params), batch["inputs"])
  want = distillation_numpy(logits, t, batch["label"], temperature, alpha).mean()
  tch = dataclasses.replace(s.c.teacher, temperature=temperature, alpha=alpha)
  loss_fn = classification.make_loss_fn(s.c.config, s.c.model,
                                        make_preprocess(s.c.config.data, s.c.data.info), tch)
  loss, (_, metrics) = loss_fn(s.state.params, s.state.model_state, batch,
                               jax.random.PRNGKey(0), True)
  np.testing.assert_allclose(float(loss), want, rtol=2e-5, atol=1e-6)
  np.testing.assert_allclose(float(compute(merge_all([metrics]))["loss"]), want, rtol=2e-5,
                             atol=1e-6)


def max_constant_elements(lowered) -> int:
  """The largest dense hex literal (in 4-byte elements) of a lowered program."""
  hexes = re.findall(r'dense<"0x([0-9A-Fa-f]+)"', lowered.as_text())
  return max((len(h) // 8 for h in hexes), default=0)


def test_compiled_step_takes_teacher_as_argument_and_leaves_it_unchanged(teacher, student):
  """The task's step, compiled as the loop compiles it (its `step_args` = the teacher's
  variables, one replicated jit argument): the teacher's 64x64 kernel is not a literal of the
  program (closed over, it would be: the control), the step's loss is the NumPy objective (T=4,
  alpha=0.5 from the config), and 3 steps (state donated) leave the teacher's arrays alive and
  unchanged."""
  s, batch = student
  args = tuple(s.task.step_args)
  train_step = compile_train_step(s.task.train_step, s.task.mesh, num_args=len(args))
  state = jax.tree.map(jnp.copy, s.state)
  device_batch = mesh_lib.put_batch(batch, s.c.mesh)
  assert max_constant_elements(train_step.lower(state, device_batch, *args)) < 1024
  closed_over = compile_train_step(make_train_step(classification.train_loss(s.c.objective)),
                                   s.c.mesh)  # no argument: objective uses teacher.variables
  assert max_constant_elements(closed_over.lower(state, device_batch)) >= 64 * 64

  want = distillation_numpy(mlp_logits(host(state.params), batch["inputs"]),
                            mlp_logits(teacher[2], batch["inputs"]), batch["label"], 4.0, 0.5)
  losses = []
  for _ in range(3):
    state, metrics = train_step(state, device_batch, *args)
    losses.append(compute(merge_all([metrics]))["loss"])
  np.testing.assert_allclose(losses[0], want.mean(), rtol=2e-5)
  assert losses[2] < losses[0]  # the student learns
  assert int(state.step) == 3
  jax.tree.map(np.testing.assert_array_equal, host(args[0])["params"], teacher[2])


def test_short_distilled_run(teacher, student, tmp_path):
  """30 steps through launch.run.train: the teacher's checkpoint and params are untouched, the
  student's checkpoint holds only the student, and the reported test loss is the distillation
  objective (accuracy the student's) over the 360 test digits, both recomputed in NumPy; the
  `evaluate` of launch.eval reports the same loss."""
  c = student_config(teacher[0], teacher[1], num_steps=30, log_every=10, eval_every=30,
                     checkpoint_every=30)
  c.mesh.num_devices = 1
  result = run.train(c, tmp_path / "student")
  assert result["status"] == "finished" and result["step"] == 30
  assert [e["step"] for e in read_metrics(tmp_path / "student" / "metrics.jsonl")
          if e["split"] == "train"] == [10, 20, 30]

  assert digest(teacher[1] / "checkpoints") == teacher[3]  # not a byte of the teacher changed
  assert sorted(p.name for p in (tmp_path / "student" / "checkpoints").iterdir()) == ["30"]
  saved = saved_state(tmp_path / "student", 30)
  assert set(saved["parts"]) == {"model"} and not jax.tree.leaves(saved.get("extra", {}))
  params = saved["parts"]["model"]["params"]
  assert set(params) == {"hidden_0", "output"} and params["hidden_0"]["kernel"].shape == (64, 32)
  test = student[0].c.data.dataset.split("test")
  logits = mlp_logits(params, test["inputs"])
  t = mlp_logits(teacher[2], test["inputs"])
  assert result["test"]["num_examples"] == 360
  np.testing.assert_allclose(result["test"]["loss"],
                             distillation_numpy(logits, t, test["label"], 4.0, 0.5).mean(),
                             rtol=2e-5)
  np.testing.assert_allclose(result["test"]["accuracy"],
                             np.mean(logits.argmax(-1) == test["label"]), atol=1e-9)
  again = run.evaluate(c, tmp_path / "student")  # what launch.eval runs
  assert again["step"] == 30 and again["which"] == "latest"
  np.testing.assert_allclose(again["loss"], result["test"]["loss"], rtol=1e-6)


@pytest.mark.parametrize("case", ["missing_workdir", "other_dataset", "other_loss", "bad_alpha"])
def test_config_errors_before_training(tmp_path, case):
  """One ConfigError, raised before training (no student checkpoint, no teacher dir created)."""
  spec = write_teacher_config(tmp_path, "mnist" if case == "other_dataset" else "digits")
  c = student_config(spec, tmp_path / "no_teacher")
  c.loss.name = "focal" if case == "other_loss" else c.loss.name
  c.distillation.alpha = 1.5 if case == "bad_alpha" else c.distillation.alpha
  match = {"missing_workdir": (f"has no checkpoint; train the teacher first: .venv/bin/python -m "
                               f"launch.train --config {spec} --workdir {tmp_path / 'no_teacher'}"),
           "other_dataset": "'mnist' but the student on 'digits'; teacher and student must share",
           "other_loss": "set loss.name='cross_entropy'",
           "bad_alpha": "0 <= alpha <= 1"}[case]
  with pytest.raises(ConfigError, match=re.escape(match)):
    run.train(c, tmp_path / "student")
  assert not (tmp_path / "student" / "checkpoints").exists()
  assert not (tmp_path / "no_teacher").exists()


def test_distillation_section_is_declared_and_can_be_turned_off():
  """The launcher accepts overrides of every key the trainer reads (and rejects a typo); an
  empty teacher_workdir turns distillation off."""
  c = load_config_file(str(REPO / "configs" / "digits_distillation.py"))
  check_override_keys(c, [f"--config.distillation.{k}=1" for k in
                          ("teacher_config", "teacher_workdir", "temperature", "alpha")])
  with pytest.raises(ConfigError, match="Did you mean 'distillation.temperature'"):
    check_override_keys(c, ["--config.distillation.temprature=2.0"])
  c.distillation.teacher_workdir = ""
  assert classification.load_teacher(c, mesh_lib.make_mesh(1)) is None
