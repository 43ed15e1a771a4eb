"""The house's layer rule, held by a test: a module never imports a layer above it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fsrouter"

#: layer -> fsrouter layers it may import (besides itself, errors and log)
ALLOWED = {
    "esl": set(),
    "store": set(),
    "session": {"esl"},
    "flow": {"esl", "session", "store"},
    "replay": {"esl", "session", "flow", "store", "app"},
}
TOP = {"errors", "log", "dburl", "__init__"}


def fsrouter_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "fsrouter" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_no_module_imports_a_layer_above_its_own():
    problems = []
    for layer, allowed in ALLOWED.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            for imported in fsrouter_imports(path) - allowed - TOP - {layer}:
                problems.append(f"{path.relative_to(PACKAGE.parent)} imports fsrouter.{imported}")
    assert problems == []


def test_greenswitch_is_used_only_in_the_session_layer():
    users = [p.relative_to(PACKAGE.parent) for p in PACKAGE.rglob("*.py")
             if "greenswitch" in {n.split(".")[0] for n in _all_imports(p)}]
    assert users and all(str(p).startswith("fsrouter/session/") for p in users), users


def test_gevent_monkey_patching_happens_only_in_the_entry_point():
    patchers = [p.relative_to(PACKAGE.parent) for p in PACKAGE.rglob("*.py") if "patch_all(" in p.read_text()]
    assert [str(p) for p in patchers] == ["fsrouter/__main__.py"]


def _all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names
