"""Test setup: 8 fake CPU devices (set before JAX is imported), shared-data discovery, helpers."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=8").strip()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir() -> pathlib.Path | None:
  """DLCORE_DATA_DIR if set, else ../shared/data beside the repo; None if it has no mnist/."""
  candidates = [os.environ.get("DLCORE_DATA_DIR", ""), str(REPO.parent / "shared" / "data")]
  for c in candidates:
    if c and (pathlib.Path(c) / "mnist" / "train-images-idx3-ubyte.gz").exists():
      return pathlib.Path(c)
  return None


@pytest.fixture
def data_dir() -> pathlib.Path:
  d = shared_data_dir()
  if d is None:
    pytest.skip("needs ../shared/data (set DLCORE_DATA_DIR to a dir with mnist/)")
  return d


def run_cli(module: str, *args: str, env: dict | None = None, timeout: float = 300,
            cwd: pathlib.Path = REPO) -> subprocess.CompletedProcess:
  """Run `python -m <module> args...` in the repo, returning the completed process."""
  full_env = dict(os.environ, **(env or {}))
  full_env.setdefault("PYTHONPATH", str(REPO))
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                        timeout=timeout, env=full_env, cwd=cwd)
