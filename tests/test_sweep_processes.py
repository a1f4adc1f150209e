"""A comparison (dlcore's sweep) with `parallel` > 1: its variants train as processes."""

from __future__ import annotations

import json

import ml_collections
import pytest

from dlcore.errors import ConfigError
from launch import run
from launch.cli import load_config_file

from conftest import REPO

D = ml_collections.ConfigDict


def sweep(variants: dict, parallel: int) -> ml_collections.ConfigDict:
  """A comparison of tiny digits MLPs (30 steps, one device, no periodic evaluation)."""
  from configs.defaults import comparison
  c = comparison.get_config(load_config_file(str(REPO / "configs" / "digits_mlp.py")))
  c.name = "sweep"
  c.model.features = (32,)
  c.train.update(num_epochs=0, num_steps=30, log_every=10, eval_every=0, checkpoint_every=0,
                 progress=False)
  c.eval.reports = ()
  c.early_stopping.restore_best = False
  c.mesh.num_devices = 1
  c.variants = D({name: D(dict(optimizer=D(dict(learning_rate=lr))))
                  for name, lr in variants.items()})
  del c["parallel"]  # the default holds an int; a config file may set any value
  c.parallel = parallel
  return c


def rows(workdir) -> dict[str, str]:
  lines = (workdir / "comparison.md").read_text().splitlines()
  return {line.split(" | ")[0][2:]: line for line in lines if line.startswith("| ")}


LRS = {"lr_0_01": 0.01, "lr_0_001": 0.001}


@pytest.fixture(scope="module")
def parallel_sweep(tmp_path_factory):
  """(workdir, result) of 4 variants, 3 processes at a time: the two of LRS, one that diverges
  and one whose process fails (an unknown optimizer, found only when the variant builds it)."""
  workdir = tmp_path_factory.mktemp("parallel")
  c = sweep({**LRS, "diverges": 1e30}, 3)
  c.variants.bad = D(dict(optimizer=D(dict(name="no_such_optimizer"))))
  return workdir, run.train(c, workdir)


def test_parallel_variants_match_the_sequential_run(tmp_path, parallel_sweep):
  workdir, parallel = parallel_sweep
  sequential = run.train(sweep(LRS, 1), tmp_path)
  assert parallel["status"] == "finished" and sequential["step"] == 60
  assert sequential["test"]["lr_0_01/loss"] != sequential["test"]["lr_0_001/loss"]
  for key, value in sequential["test"].items():
    assert parallel["test"][key] == pytest.approx(value, rel=1e-5), key
  table = rows(workdir)
  for name, lr in LRS.items():
    vdir = workdir / name
    assert json.loads((vdir / "result.json").read_text())["status"] == "finished"
    assert json.loads((vdir / "variant_config.json").read_text())["optimizer"]["learning_rate"] \
        == lr
    assert "| 30 |" in table[name] and "failed" not in table[name]
    assert (vdir / "stdout.log").is_file()
  assert (workdir / "plots" / "compare_accuracy.png").stat().st_size > 1000


def test_failing_and_diverging_variants_get_their_rows(parallel_sweep):
  workdir, result = parallel_sweep
  table = rows(workdir)
  assert list(table) == ["variant", "bad", "diverges", "lr_0_001", "lr_0_01"]  # sorted
  assert "failed (exit code 2, see bad/stdout.log)" in table["bad"]
  assert "no_such_optimizer" in (workdir / "bad" / "stdout.log").read_text()
  assert "diverged (NaN/Inf loss)" in table["diverges"]
  assert result["test"]["bad/accuracy"] is None and result["test"]["diverges/accuracy"] is None
  assert result["test"]["lr_0_01/accuracy"] > 0.3


@pytest.mark.parametrize("parallel", [0, -1, 1.5, True])
def test_parallel_must_be_a_positive_integer(tmp_path, parallel):
  with pytest.raises(ConfigError, match="parallel must be an integer >= 1"):
    run.train(sweep({"a": 0.01}, parallel), tmp_path)


def test_weight_histograms_need_one_process(tmp_path):
  c = sweep({"a": 0.01}, 2)
  c.weight_histograms = True
  with pytest.raises(ConfigError, match="weight_histograms needs the final states"):
    run.train(c, tmp_path)
