"""The core's layer contract (pyproject.toml, import-linter): it holds, and it fails on an upward import."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("importlinter", reason="import-linter is in the test extras (pip install -e .[test])")

# Run import-linter on the csgn_core found in `root` (not the installed one), with root's pyproject.
LINT = ("import sys; sys.path.insert(0, {root!r}); import os; os.chdir({root!r}); "
        "from importlinter.cli import lint_imports; sys.exit(lint_imports(config_filename='pyproject.toml', "
        "no_cache=True))")


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT.format(root=str(root))], capture_output=True, text=True)


def test_layers_contract_holds():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "csgn_core layers" in r.stdout and "KEPT" in r.stdout


def test_layers_contract_fails_on_an_upward_import(tmp_path):
    shutil.copytree(ROOT / "csgn_core", tmp_path / "csgn_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    ops = tmp_path / "csgn_core" / "motion" / "ops.py"
    ops.write_text(ops.read_text(encoding="utf-8") + "\nfrom csgn_core.editing.timeline import Timeline  # noqa\n",
                   encoding="utf-8")
    r = lint(tmp_path)
    assert r.returncode != 0
    assert "BROKEN" in r.stdout and "csgn_core.motion.ops" in r.stdout


def test_engines_define_no_command_line():
    """argparse, ``*_main`` entry points and ``add_*_args`` live in csgn_core/cli only."""
    import ast

    offenders = []
    for py in (ROOT / "csgn_core").rglob("*.py"):
        if "cli" in py.relative_to(ROOT / "csgn_core").parts:
            continue
        for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                offenders.append(f"{py.name}: import argparse")
            if isinstance(node, ast.FunctionDef) and (node.name.endswith("_main") or node.name.startswith("add_")
                                                      and node.name.endswith("_args")):
                offenders.append(f"{py.name}: {node.name}")
    assert not offenders, offenders




def test_the_architecture_page_names_every_core_module():
    """docs/architecture.md must match the tree: every package and module of csgn_core is named there."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for py in sorted((ROOT / "csgn_core").rglob("*.py")):
        rel = py.relative_to(ROOT / "csgn_core")
        name = rel.parent.name if py.stem == "__init__" else py.stem
        if name and f"`{name}" not in text and f" {name}" not in text and f"{name}/" not in text:
            missing.append(str(rel))
    assert not missing, missing
