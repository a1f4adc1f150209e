"""Bad user input gives one clean line, exit code 2, no traceback, fast.

Each case is run the way a user hits it: `python -m launch.train ...` as a subprocess (on the
8x8 digits config, one device), except where the failure can only be simulated in-process
(permission problems while running as root).
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import ml_collections
import pytest

from conftest import REPO, run_cli

DIGITS = ["--config", "configs/digits_mlp.py", "--config.mesh.num_devices=1"]
ONE_DEVICE = {"XLA_FLAGS": ""}
LIMIT_S = 30


def one_error_line(proc: subprocess.CompletedProcess, elapsed: float, *needles: str) -> str:
  """Asserts the contract of a user error and returns the `error:` line."""
  assert proc.returncode == 2, (proc.returncode, proc.stdout[-1000:], proc.stderr[-3000:])
  assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
  lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 1, proc.stderr
  for needle in needles:
    assert needle in lines[0], (needle, lines[0])
  assert elapsed < LIMIT_S, f"took {elapsed:.1f} s"
  return lines[0]


def train(*args: str, env: dict | None = None, cwd: pathlib.Path = REPO):
  t0 = time.time()
  proc = run_cli("launch.train", *args, env=dict(ONE_DEVICE, **(env or {})), timeout=120,
                 cwd=cwd)
  return proc, time.time() - t0


def run_script(script: pathlib.Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
  env = dict(os.environ, PYTHONPATH=str(REPO), **ONE_DEVICE)
  t0 = time.time()
  proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                        timeout=120, env=env, cwd=REPO)
  return proc, time.time() - t0


def write(path: pathlib.Path, text: str) -> pathlib.Path:
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(textwrap.dedent(text))
  return path


# --- 1. the config file ------------------------------------------------------------------------

BAD_CONFIGS = {
    "syntax_error": ("import ml_collections\ndef get_config(:\n  pass\n",
                     ["syntax error at line 2", "bad.py", "fix the file"]),
    "get_config_raises": ("def get_config():\n  raise ValueError('boom\\nsecond line')\n",
                          ["get_config() in", "bad.py", "raised ValueError: boom", "fix the"]),
    "no_get_config": ("x = 1\n", ["bad.py has no get_config() function", "define get_config()"]),
    "get_config_returns_none": ("def get_config():\n  c = 1\n",
                                ["get_config() in", "returned None", "return config",
                                 "ml_collections.ConfigDict"]),
    "import_error": ("import no_such_module_xyz\n",
                     ["bad.py failed to load: ModuleNotFoundError", "no_such_module_xyz"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_broken_config_file_gives_one_line(case, tmp_path):
  text, needles = BAD_CONFIGS[case]
  bad = write(tmp_path / "configs" / "bad.py", text)
  proc, elapsed = train("--config", str(bad), "--workdir", str(tmp_path / "run"))
  line = one_error_line(proc, elapsed, *needles)
  assert "--config is required" not in line
  assert not (tmp_path / "run").exists()  # nothing started


def test_missing_config_file_says_where_configs_live(tmp_path):
  proc, elapsed = train("--config", "configs/digits_mpl.py", "--workdir", str(tmp_path / "r"))
  one_error_line(proc, elapsed, "configs/digits_mpl.py not found",
                 "Did you mean configs/digits_mlp.py?", f"Configs live in {REPO / 'configs'}")


def test_config_directory_asks_for_a_file(tmp_path):
  proc, elapsed = train("--config", "configs", "--workdir", str(tmp_path / "r"))
  one_error_line(proc, elapsed, "--config configs is a directory",
                 "e.g. --config configs/digits_mlp.py")


def test_config_argument_to_a_get_config_without_parameters(tmp_path):
  proc, elapsed = train("--config", "configs/digits_mlp.py:small", "--workdir", str(tmp_path))
  one_error_line(proc, elapsed, "takes no argument", "drop ':small'")


def test_config_path_relative_to_the_repo_works_from_another_directory(tmp_path):
  """`--config configs/digits_mlp.py` from outside the repo finds the repo's file: the unknown
  override key below is only reported once the file has been loaded."""
  proc, elapsed = train(*DIGITS, "--config.model.featurs=(8,)", "--workdir", str(tmp_path / "r"),
                        cwd=tmp_path)
  one_error_line(proc, elapsed, "unknown config key 'model.featurs'",
                 "Did you mean 'model.features'?")


def test_overrides_apply_to_a_config_found_relative_to_the_repo(tmp_path):
  """From another cwd, config_flags gets the resolved path: the file loads and overrides apply."""
  script = write(tmp_path / "parse.py", """\
      import sys
      from absl import flags
      from ml_collections import config_flags
      CONFIG = config_flags.DEFINE_config_file("config", None, "")
      from launch import cli
      cli.parse_flags(sys.argv)
      print(CONFIG.value.name, CONFIG.value.model.features)
      """)
  env = dict(os.environ, PYTHONPATH=str(REPO), **ONE_DEVICE)
  proc = subprocess.run([sys.executable, str(script), "--config", "configs/digits_mlp.py",
                         "--config.model.features=(7,)"], capture_output=True, text=True,
                        timeout=120, env=env, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.split() == ["digits_mlp", "(7,)"]


def test_a_config_can_import_its_configs_package(tmp_path):
  """The folder holding a config's `configs/` goes on sys.path before the file runs (for both
  our pre-load and config_flags' own), so `from configs.<x> import ...` works from any cwd."""
  write(tmp_path / "proj" / "configs" / "__init__.py", "")
  write(tmp_path / "proj" / "configs" / "shared_bits_xyz.py", """\
      import ml_collections
      def base():
        return ml_collections.ConfigDict(dict(name="x", mesh=dict(num_devices=1)))
      """)
  cfg = write(tmp_path / "proj" / "configs" / "sub" / "leaf.py", """\
      from configs.shared_bits_xyz import base
      def get_config():
        return base()
      """)
  # Loads (both times), then stops on the missing --workdir check of launch.train.
  proc, elapsed = train("--config", str(cfg), "--config.mesh.num_devices=1", cwd=tmp_path)
  one_error_line(proc, elapsed, "--workdir is required")


def test_load_config_file_in_process(tmp_path, monkeypatch):
  from dlcore.config import configs_root, load_config_file
  monkeypatch.setattr(sys, "path", list(sys.path))
  from dlcore.errors import ConfigError
  cfg = write(tmp_path / "configs" / "ok.py", """\
      import ml_collections
      def get_config(arg="a"):
        return ml_collections.ConfigDict(dict(arg=arg))
      """)
  assert configs_root(cfg) == tmp_path
  assert load_config_file(str(cfg)).arg == "a"
  assert load_config_file(f"{cfg}:b").arg == "b"
  assert sys.path[0] == str(tmp_path)
  write(tmp_path / "configs" / "dict.py", "def get_config():\n  return {'a': 1}\n")
  with pytest.raises(ConfigError, match="returned a dict"):
    load_config_file(str(tmp_path / "configs" / "dict.py"))
  write(tmp_path / "configs" / "arch.py", "def get_config(arch):\n  raise ValueError(arch)\n")
  with pytest.raises(ConfigError, match=r"raised ValueError: resnet19; fix the config file or its"
                                        r" argument") as e:
    load_config_file(f"{tmp_path / 'configs' / 'arch.py'}:resnet19")
  assert isinstance(e.value, ValueError)  # callers that caught the file's ValueError still do


def test_cfg_get_is_one_function():
  import dlcore.config
  import dlcore.data.base
  import dlcore.optim.config
  assert dlcore.data.base.cfg_get is dlcore.config.cfg_get is dlcore.optim.config.cfg_get
  c = ml_collections.ConfigDict(dict(a=None, b=2))
  assert dlcore.config.cfg_get(c, "a", 1) == 1 and dlcore.config.cfg_get(c, "b") == 2
  assert dlcore.config.cfg_get(None, "a", 3) == 3


def test_load_config_json(tmp_path):
  from dlcore.config import load_config_json
  from dlcore.errors import ConfigError
  with pytest.raises(ConfigError, match="config.json not found: is .* the --workdir of a dlcore"):
    load_config_json(tmp_path)
  (tmp_path / "config.json").write_text('{"model": {"name": "mlp"')
  with pytest.raises(ConfigError, match=r"is not valid JSON \(line 1: .*\); restore it, or rerun"):
    load_config_json(tmp_path)
  (tmp_path / "config.json").write_text("[1, 2]")
  with pytest.raises(ConfigError, match="holds a JSON list"):
    load_config_json(tmp_path)
  with pytest.raises(ConfigError, match="is not a directory"):
    load_config_json(tmp_path / "nope")
  (tmp_path / "config.json").write_text(json.dumps({"model": {"name": "mlp"}}))
  assert load_config_json(tmp_path).model.name == "mlp"


def _eval_uses_dlcore_config() -> bool:
  return "dlcore.config" in (REPO / "launch" / "eval.py").read_text()


@pytest.mark.skipif(not _eval_uses_dlcore_config(),
                    reason="launch/eval.py does not use dlcore.config.load_config_json yet")
def test_eval_on_a_workdir_with_a_corrupt_config_json(tmp_path):
  (tmp_path / "config.json").write_text("{not json")
  t0 = time.time()
  proc = run_cli("launch.eval", "--workdir", str(tmp_path), env=ONE_DEVICE, timeout=120)
  one_error_line(proc, time.time() - t0, "config.json is not valid JSON", "rerun launch.train")


# --- 2. the workdir ----------------------------------------------------------------------------

HOLD = """\
    from absl import flags
    from launch import cli
    _WORKDIR = flags.DEFINE_string("workdir", None, "")
    def main(argv):
      with cli.hold_workdir(_WORKDIR.value) as path:
        print("held", path, flush=True)
    cli.run(main)
    """


def _train_holds_workdir() -> bool:
  return "hold_workdir" in (REPO / "launch" / "train.py").read_text()


def test_second_launch_on_a_locked_workdir_fails_naming_the_holder(tmp_path):
  """The lock is held by this test process; a launch on the same workdir (through cli.run and
  cli.hold_workdir, as launch.train does) stops at once naming our pid."""
  from dlcore.train.workdir import WorkdirLock
  script = write(tmp_path / "hold.py", HOLD)
  workdir = tmp_path / "run"
  with WorkdirLock(workdir):
    proc, elapsed = run_script(script, "--workdir", str(workdir))
  one_error_line(proc, elapsed, f"workdir {workdir} is in use by process {os.getpid()} on",
                 "(started ", "wait for it to finish or use another --workdir")
  proc, _ = run_script(script, "--workdir", str(workdir))  # released: it runs now
  assert proc.returncode == 0 and "held" in proc.stdout, proc.stderr


@pytest.mark.skipif(not _train_holds_workdir(),
                    reason="launch/train.py does not call cli.hold_workdir yet")
def test_launch_train_on_a_locked_workdir_fails_naming_the_holder(tmp_path):
  from dlcore.train.workdir import WorkdirLock
  with WorkdirLock(tmp_path):
    proc, elapsed = train(*DIGITS, "--workdir", str(tmp_path))
  one_error_line(proc, elapsed, f"is in use by process {os.getpid()} on", "another --workdir")
  assert not (tmp_path / "checkpoints").exists()


def test_lock_left_by_a_dead_process_does_not_block(tmp_path):
  from dlcore.train.workdir import LOCK_NAME, WorkdirLock
  workdir = tmp_path / "run"
  # 1. a lock file with a bogus pid and no flock held
  workdir.mkdir()
  (workdir / LOCK_NAME).write_text(json.dumps({"pid": 999999999, "host": "gone", "started": "x"}))
  proc, elapsed = run_script(write(tmp_path / "hold.py", HOLD), "--workdir", str(workdir))
  assert proc.returncode == 0 and "held" in proc.stdout, proc.stderr
  assert elapsed < LIMIT_S
  # 2. a holder killed with SIGKILL: the kernel drops its flock, its pid stays in the file
  holder = subprocess.Popen(
      [sys.executable, "-c", "import sys, time\nfrom dlcore.train.workdir import WorkdirLock\n"
       f"WorkdirLock({str(workdir)!r}).acquire()\nprint('locked', flush=True)\ntime.sleep(120)"],
      env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    assert json.loads((workdir / LOCK_NAME).read_text())["pid"] == holder.pid
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
  finally:
    if holder.poll() is None:
      holder.kill()
  assert json.loads((workdir / LOCK_NAME).read_text())["pid"] == holder.pid  # stale content
  with WorkdirLock(workdir) as lock:
    assert lock.held
    assert json.loads((workdir / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_workdir_lock_in_process(tmp_path):
  from dlcore.errors import DlcoreError
  from dlcore.train.workdir import WorkdirLock
  with WorkdirLock(tmp_path):
    with pytest.raises(DlcoreError, match=f"in use by process {os.getpid()} on"):
      WorkdirLock(tmp_path).acquire()
  with WorkdirLock(tmp_path):  # released on exit
    pass


def test_workdir_that_is_a_file(tmp_path):
  file = tmp_path / "notadir"
  file.write_text("x")
  proc, elapsed = run_script(write(tmp_path / "hold.py", HOLD), "--workdir", str(file))
  one_error_line(proc, elapsed, f"--workdir {file} is a file; give a directory")
  proc, elapsed = run_script(tmp_path / "hold.py", "--workdir", str(file / "sub"))
  one_error_line(proc, elapsed, f"--workdir {file / 'sub'} is inside {file}, which is a file")


@pytest.mark.skipif(not _train_holds_workdir(),
                    reason="launch/train.py does not call cli.hold_workdir yet")
def test_launch_train_workdir_that_is_a_file(tmp_path):
  file = tmp_path / "notadir"
  file.write_text("x")
  proc, elapsed = train(*DIGITS, "--workdir", str(file))
  one_error_line(proc, elapsed, f"--workdir {file} is a file; give a directory")


def test_unwritable_workdir(tmp_path, monkeypatch):
  """As root chmod does not stop writes, so both checks are simulated: os.access saying no,
  and the test write failing (a read-only mount)."""
  from dlcore.errors import DlcoreError
  from dlcore.train import workdir as workdir_lib
  target = tmp_path / "ro" / "run"
  with monkeypatch.context() as m:
    m.setattr(workdir_lib.os, "access", lambda *a, **k: False)
    with pytest.raises(DlcoreError, match=r"cannot write to --workdir .*run \(Permission denied\);"
                                          r" choose a writable directory"):
      workdir_lib.prepare_workdir(target)

  def read_only(*a, **k):
    raise OSError(30, "Read-only file system")

  with monkeypatch.context() as m:
    m.setattr(workdir_lib.tempfile, "mkstemp", read_only)
    with pytest.raises(DlcoreError, match=r"\(Read-only file system\); choose a writable"):
      workdir_lib.prepare_workdir(target)

  def no_mkdir(self, *a, **k):
    raise PermissionError(13, "Permission denied")

  with monkeypatch.context() as m:
    m.setattr(pathlib.Path, "mkdir", no_mkdir)
    with pytest.raises(DlcoreError, match=r"cannot write to --workdir .*new \(Permission denied\)"):
      workdir_lib.prepare_workdir(tmp_path / "new")
  assert workdir_lib.prepare_workdir(target) == target and target.is_dir()


# --- 3. bad values -----------------------------------------------------------------------------

BAD_VALUES = {
    "lr_negative": (["--config.optimizer.learning_rate=-0.1"],
                    ["optimizer.learning_rate=-0.1 is out of range", "a finite number > 0",
                     "fix --config.optimizer.learning_rate"]),
    "lr_zero": (["--config.optimizer.learning_rate=0"],
                ["optimizer.learning_rate=0.0", "a finite number > 0"]),
    "lr_nan": (["--config.optimizer.learning_rate=nan"],
               ["optimizer.learning_rate=nan", "a finite number > 0"]),
    "warmup_negative": (["--config.optimizer.schedule.name=warmup_cosine",
                         "--config.optimizer.schedule.warmup_steps=-5"],
                        ["optimizer.schedule.warmup_steps=-5", "an integer >= 0",
                         "fix --config.optimizer.schedule.warmup_steps"]),
    "features_string": (["--config.model.features=abc"],
                        ["model.features must be a tuple of positive ints",
                         "--config.model.features='(256,128)'", "'abc'"]),
    "features_negative": (["--config.model.features=(256,-1)"],
                          ["model.features must be a tuple of positive ints", "(256, -1)"]),
    "unknown_loss": (["--config.loss.name=cross_entropi"],
                     ["Unknown loss 'cross_entropi'", "Valid losses:"]),
    "no_epochs": (["--config.train.num_epochs=0"],
                  ["nothing to train: train.num_steps=0 and train.num_epochs=0",
                   "set one of them > 0"]),
    "negative_epochs": (["--config.train.num_epochs=-1"],
                        ["train.num_epochs must be an int >= 0, got -1"]),
    "negative_steps": (["--config.train.num_steps=-10"],
                       ["train.num_steps must be an int >= 0, got -10"]),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_value_gives_one_line_before_training(case, tmp_path):
  args, needles = BAD_VALUES[case]
  proc, elapsed = train(*DIGITS, *args, "--workdir", str(tmp_path / "run"))
  one_error_line(proc, elapsed, *needles)
  assert not (tmp_path / "run" / "checkpoints").exists()
  assert "losss" not in proc.stderr


def test_data_dir_that_is_a_file(tmp_path):
  file = tmp_path / "data.tar"
  file.write_text("x")
  proc, elapsed = train("--config", "configs/mnist_mlp.py", "--config.mesh.num_devices=1",
                        "--workdir", str(tmp_path / "run"), env={"DLCORE_DATA_DIR": str(file)})
  line = one_error_line(proc, elapsed, f"Data dir {file} (from DLCORE_DATA_DIR) is a file, not a "
                                       f"directory", "--config.data.data_dir")
  assert "does not exist" not in line
  proc, elapsed = train("--config", "configs/mnist_mlp.py", "--config.mesh.num_devices=1",
                        f"--config.data.data_dir={file}", "--workdir", str(tmp_path / "run"))
  one_error_line(proc, elapsed, "(from --config.data.data_dir) is a file, not a directory")


def _mnist_folder(folder: pathlib.Path) -> pathlib.Path:
  folder.mkdir(parents=True)
  for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    with gzip.open(folder / name, "wb") as f:
      f.write(b"\x00\x00\x08\x01\x00\x00\x00\x00")  # 0 labels: a valid, empty IDX file
  return folder


def test_unreadable_idx_file_names_the_permission_problem(tmp_path, monkeypatch):
  """Simulated (root reads everything): opening the file raises PermissionError."""
  from dlcore.data import idx, load_dataset
  from dlcore.errors import DataError
  folder = _mnist_folder(tmp_path / "mnist")

  def denied(path, *a, **k):
    raise PermissionError(13, "Permission denied", str(path))

  with monkeypatch.context() as m:
    m.setattr(idx.gzip, "open", denied)
    with pytest.raises(DataError) as e:
      load_dataset(ml_collections.ConfigDict(dict(name="mnist", path=str(folder))))
  msg = str(e.value)
  assert msg.startswith(f"cannot read {folder / 'train-images-idx3-ubyte.gz'}: permission "
                        f"denied; fix its permissions")
  assert "re-copy" not in msg
  raw = tmp_path / "labels-idx1-ubyte"
  raw.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
  with monkeypatch.context() as m:
    m.setattr(idx, "open", denied, raising=False)
    with pytest.raises(DataError, match=f"cannot read {raw}: permission denied; fix its"):
      idx.read_idx(raw)
  assert idx.read_idx(raw).shape == (0,)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_idx_file_for_real(tmp_path):
  from dlcore.data import idx
  from dlcore.errors import DataError
  raw = tmp_path / "labels-idx1-ubyte.gz"
  with gzip.open(raw, "wb") as f:
    f.write(b"\x00\x00\x08\x01\x00\x00\x00\x00")
  raw.chmod(0)
  with pytest.raises(DataError, match="permission denied; fix its permissions"):
    idx.read_idx(raw)


def test_registry_plural():
  from dlcore.errors import ConfigError
  from dlcore.registry import Registry
  r = Registry("loss")
  r.add("cross_entropy", object())
  with pytest.raises(ConfigError, match="Valid losses: cross_entropy."):
    r.get("x")
  assert Registry("model").plural == "models"


def test_optimizer_ranges_in_process():
  from dlcore.errors import ConfigError
  from dlcore.optim import build_optimizer, build_schedule, optimizer_config
  build_optimizer(optimizer_config("adam", 1e-3, schedule="warmup_cosine"), 10)  # defaults pass
  for key, value, match in [("learning_rate", float("inf"), r"learning_rate=inf .* > 0"),
                            ("learning_rate", -1.0, r"learning_rate=-1.0 .* > 0"),
                            ("momentum", 1.5, r"momentum=1.5 .* in \[0, 1\]"),
                            ("grad_clip_norm", -1.0, r"grad_clip_norm=-1.0 .* >= 0")]:
    with pytest.raises(ConfigError, match=match):
      c = optimizer_config("sgd", 0.1)
      c[key] = value
      build_optimizer(c, 10)
  for key, value, match in [("decay_steps", 0, r"schedule.decay_steps=0 .* integer >= 1"),
                            ("warmup_steps", 2.5, r"warmup_steps=2.5 .* integer >= 0"),
                            ("decay_rate", float("nan"), r"decay_rate=nan .* > 0")]:
    c = ml_collections.ConfigDict(dict(name="sgd", learning_rate=0.1, schedule=dict(
        name="step", **{key: value})))
    with pytest.raises(ConfigError, match=match):
      build_schedule(c, 10)
