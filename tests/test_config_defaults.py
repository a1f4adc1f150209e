"""Configs derive from shared defaults: each config file starts from a family default in
configs/defaults/ (or from another config) and overrides only what differs, so no config
repeats another's body."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess

import ml_collections
import pytest

from conftest import REPO

CONFIGS_DIR = REPO / "configs"
DEFAULTS_DIR = CONFIGS_DIR / "defaults"
CONFIG_FILES = sorted(p for p in CONFIGS_DIR.glob("*.py") if p.name != "__init__.py")
DEFAULT_NAMES = sorted(p.stem for p in DEFAULTS_DIR.glob("*.py") if p.name != "__init__.py")
# The sections of a trainer config; a config written from scratch assigns (nearly) all of them.
SECTIONS = ("seed", "data", "model", "loss", "metrics", "optimizer", "train", "eval",
            "early_stopping", "mesh")
MAX_WHOLE_SECTIONS = 4  # today at most 3 (configs/mlp_4841.py: seed, data, optimizer)


def _config_imports(tree: ast.Module) -> set[str]:
  """The names a file imports from `configs` or `configs.defaults`."""
  return {alias.asname or alias.name for node in ast.walk(tree)
          if isinstance(node, ast.ImportFrom) and node.module in ("configs", "configs.defaults")
          for alias in node.names}


def _get_config(tree: ast.Module) -> ast.FunctionDef:
  funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "get_config"]
  assert len(funcs) == 1, "no top-level get_config()"
  return funcs[0]


def _whole_sections(tree: ast.Module) -> set[str]:
  """Trainer sections the file assigns as a whole: `c.<section> = ...`."""
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Assign):
      for target in node.targets:
        for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
          if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
              and t.attr in SECTIONS):
            found.add(t.attr)
  return found


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_config_starts_from_a_default_or_another_config(path):
  tree = ast.parse(path.read_text())
  imported = _config_imports(tree)
  assert imported, (f"configs/{path.name} imports nothing from configs.defaults or configs; "
                    f"start from a family default (from configs.defaults import ...)")
  body = [s for s in _get_config(tree).body
          if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
  first = body[0]
  call = first.value if isinstance(first, ast.Assign) else None
  assert (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
          and re.fullmatch(r"get_(\w+_)?config", call.func.attr)
          and isinstance(call.func.value, ast.Name)
          and call.func.value.id in imported), (
              f"configs/{path.name}: get_config() must begin with `c = <default or config>"
              f".get_config(...)` (one of {sorted(imported)}), then override")
  whole = _whole_sections(tree)
  assert len(whole) <= MAX_WHOLE_SECTIONS, (
      f"configs/{path.name} assigns {len(whole)} whole sections ({', '.join(sorted(whole))}): "
      f"override single keys of the default instead of restating its body")


@pytest.mark.parametrize("name", DEFAULT_NAMES)
def test_family_default_is_documented_complete_and_used(name):
  module = importlib.import_module(f"configs.defaults.{name}")
  doc = module.__doc__ or ""
  assert "experiment" in doc and "Sections" in doc, (
      f"configs/defaults/{name}.py: its docstring names the experiment and lists its sections")
  c = module.get_config()
  assert isinstance(c, ml_collections.ConfigDict) and not c.is_locked
  assert isinstance(c.get("experiment"), str) and c.experiment
  users = [p for p in CONFIG_FILES + sorted(DEFAULTS_DIR.glob("*.py"))
           if p.stem != name and name in _config_imports(ast.parse(p.read_text()))]
  assert users, f"configs/defaults/{name}.py is used by no config"


def test_a_config_written_from_scratch_breaks_the_rule():
  """The rule above catches a config that restates a whole body (the form before defaults)."""
  body = "\n".join(f"  c.{s} = ml_collections.ConfigDict()" for s in SECTIONS)
  tree = ast.parse("import ml_collections\n\ndef get_config():\n"
                   f"  c = ml_collections.ConfigDict()\n{body}\n  return c\n")
  assert not _config_imports(tree) and len(_whole_sections(tree)) > MAX_WHOLE_SECTIONS


def test_no_block_of_six_lines_repeats_between_configs():
  """`duplicates` over configs/ (defaults included): no identical run of 6+ lines between two
  files, and no config that repeats a default even in shape. Rows `shape` between two config
  files are override lists alike but for their values and are allowed."""
  tool = shutil.which("duplicates")
  if tool is None:
    pytest.skip("the `duplicates` command is not on PATH")
  out = subprocess.run([tool, "--repo", str(CONFIGS_DIR), "--min-lines", "6", "--most", "200"],
                       capture_output=True, text=True, timeout=120, cwd=CONFIGS_DIR).stdout
  assert "incomplete:" not in out, out
  rows = [line for line in out.splitlines() if re.match(r"D\d+ ", line)]
  bad = [row for row in rows if " shape" not in row or "defaults/" in row]
  assert not bad, "repeated blocks in configs/:\n" + "\n".join(bad) + "\n\n" + out
