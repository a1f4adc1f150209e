"""Imports point one way (docs/architecture.md): launch -> experiments -> dlcore.train /
dlcore.evals -> dlcore.models -> dlcore.nn -> leaves; experiment modules never import one
another; nothing in dlcore imports experiments, launch or configs."""

from __future__ import annotations

import ast
import pathlib

import pytest

from conftest import REPO

LEAVES = ("dlcore.losses", "dlcore.metrics", "dlcore.optim", "dlcore.data", "dlcore.viz")
ABOVE_LEAVES = ("dlcore.train", "dlcore.evals", "dlcore.models", "dlcore.decode", "dlcore.rl",
                "dlcore.diffusion")


def imported(path: pathlib.Path) -> set[str]:
  names = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      names.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      names.add(node.module)
      names.update(f"{node.module}.{a.name}" for a in node.names)
  return names


def modules(folder: str) -> list[pathlib.Path]:
  return sorted(p for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts)


def starts(name: str, prefixes) -> bool:
  return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", modules("experiments"), ids=lambda p: p.name)
def test_experiments_import_only_dlcore(path):
  bad = {n for n in imported(path) if starts(n, ("experiments", "launch", "configs"))}
  assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def test_dlcore_imports_point_down():
  for path in modules("dlcore"):
    names = imported(path)
    up = {n for n in names if starts(n, ("experiments", "launch", "configs"))}
    assert not up, f"{path.relative_to(REPO)} imports {sorted(up)}"
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    if starts(module, LEAVES):
      higher = {n for n in names if starts(n, ABOVE_LEAVES)}
      assert not higher, f"leaf {module} imports {sorted(higher)}"


def test_the_training_core_does_not_import_rl():
  """dlcore.rl builds on dlcore.train.state; the core must not depend on the RL family."""
  for path in modules("dlcore/train"):
    rl = {n for n in imported(path) if starts(n, ("dlcore.rl",))}
    assert not rl, f"{path.relative_to(REPO)} imports {sorted(rl)}"


def test_the_control_catches_an_upward_import(tmp_path):
  bad = tmp_path / "bad.py"
  bad.write_text("from experiments import classification\nimport launch.cli\n")
  assert {"experiments", "launch.cli"} <= imported(bad)
