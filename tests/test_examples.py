"""docs/examples/: each library-use example runs its main() (which asserts its own result)."""

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "docs" / "examples"


def _load(name: str):
  spec = importlib.util.spec_from_file_location(f"dlcore_example_{name}", EXAMPLES / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_every_example_is_tested():
  assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(
      ["per_example_grads", "vmap_seeds", "hypergradient"])


def test_per_example_grads():
  result = _load("per_example_grads").main()
  assert 0 < result["min_norm"] <= result["max_norm"]


def test_vmap_seeds():
  result = _load("vmap_seeds").main()
  assert len(result["accuracy"]) == 4 and len(set(result["accuracy"])) > 1  # seeds differ


def test_hypergradient():
  result = _load("hypergradient").main()
  q, m = result["quadratic"], result["mlp"]
  assert q["hypergradient"] == pytest.approx(q["closed_form"], rel=1e-5)
  assert m["final_loss"] < m["start_loss"]
