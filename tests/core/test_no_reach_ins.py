"""No module touches another's private names: what is shared is public API (issue 20)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_ATTRS = {"_replace", "_asdict", "_fields", "_make"}  # namedtuple API


def reach_ins(source: str) -> list[str]:
    """``x._name`` with x not self/cls/super(), and ``from m import _name`` (dunders, namedtuple
    methods and ``os._exit`` aside), as 'line: text'."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            v = node.value
            if isinstance(v, ast.Name) and (v.id in ("self", "cls") or (v.id == "os" and node.attr == "_exit")):
                continue
            if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "super":
                continue
            if node.attr in ALLOWED_ATTRS:
                continue
            out.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom):
            out += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")]
    return out


def test_the_scan_bites():
    assert reach_ins("import m\nm._hidden()\n") == ["2: m._hidden"]
    assert reach_ins("from m import _x\n") == ["1: from m import _x"]
    assert reach_ins("class A:\n    def f(self):\n        return self._y, super()._z, os._exit\n") == []


def test_app_and_core_have_no_reach_ins():
    found = []
    for pkg in ("app", "csgn_core"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)}:{hit}" for hit in reach_ins(path.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)
