"""The folder tree is the architecture: these tests keep it so. Each package imports only the layers
beneath it, no module imports inside a function (where a cycle would hide), and the module import
graph has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "webapp"

# Low to high. A package may import itself and the packages of a lower layer, never one beside it or
# above it. `webapp` itself (create_app) is the top: it wires everything and nothing imports it.
LAYERS: dict[str, int] = {
    "core": 0,
    "whatsapp": 1,
    "graph": 2,
    "templates_catalog": 3,  # inbox sends templates from the catalog
    "settings": 3,  # the business's settings, stored and changed by admins (AI, hours, OCR languages)
    "inbox": 4,
    "auth": 4,
    "webhooks": 5,
    "media": 5,
    "leads": 5,
    "analytics": 5,
    "team": 5,  # notes, canned replies, presence, drafts
    "ocr": 6,  # reads the files media fetched
    "ai": 7,  # answers from the inbox, proposes leads, reads OCR text
    "api": 8,
    "ui": 8,
    "demo": 8,
}
TOP = 9


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    if len(parts) == 1:
        return "webapp", TOP
    package = parts[1]
    if package not in LAYERS:
        raise AssertionError(f"{module}: the package {package!r} has no layer; add it to LAYERS in this test")
    return package, LAYERS[package]


def imported_modules(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int]]:
    """(module imported, line) for every import of a webapp module, anywhere in the file."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names if alias.name.split(".")[0] == "webapp")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "webapp":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((submodule if submodule in known else target, node.lineno))
    return found


def function_level_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines.extend(inner.lineno for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom)))
    return lines


def test_every_package_has_a_layer():
    for module in modules():
        layer_of(module)


def test_no_module_imports_inside_a_function():
    offenders = {name: lines for name, path in modules().items() if (lines := function_level_imports(path))}
    assert offenders == {}, "imports inside functions (hoist them; a cycle must be fixed, not hidden)"


def test_packages_import_only_the_layers_beneath_them():
    known = modules()
    wrong = []
    for module, path in known.items():
        package, rank = layer_of(module)
        for target, line in imported_modules(module, path, known):
            target_package, target_rank = layer_of(target)
            if target_package != package and target_rank >= rank:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({package}, layer {rank}) imports {target} "
                             f"({target_package}, layer {target_rank})")
    assert wrong == []


def test_the_import_graph_has_no_cycle():
    known = modules()
    graph = {module: {t for t, _ in imported_modules(module, path, known) if t in known and t != module}
             for module, path in known.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target):], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == [], "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def f():\n    import json\n", "function-level"),
        ("from webapp.ui import views\n", "layer"),
    ],
)
def test_the_checks_catch_what_they_are_for(tmp_path, source, problem):
    """The checks above are only worth something if they can fail: a function-level import is
    found, and the inbox importing the UI is a layer violation."""
    path = tmp_path / "offender.py"
    path.write_text(source)
    if problem == "function-level":
        assert function_level_imports(path) == [2]
    else:
        imports = imported_modules("webapp.inbox.offender", path, modules())
        assert imports == [("webapp.ui.views", 1)]
        assert layer_of("webapp.ui.views")[1] >= layer_of("webapp.inbox.offender")[1]


def test_no_test_module_imports_another():
    """What tests share lives in tests/helpers; a test module is never imported by another."""
    tests = ROOT / "tests"
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith(("test_", "conftest")):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    assert offenders == []
