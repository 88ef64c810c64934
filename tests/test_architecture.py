"""The import graph: the library knows nothing of the dashboard, has no import circle,
and the dashboard uses only the library's public API.

Imports are read from the source (module level and inside functions alike);
imports under ``if TYPE_CHECKING:`` are for annotations only and never run.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import caching

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_MODULES = {"caching", "caching.keys"}  # what dashboard/ (or a user's tooling) may import


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = ROOT) -> list[tuple[str, list[str]]]:
    """``(module, names)`` for each import that runs, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append((module, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def sources(folder: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / folder).rglob("*.py"))


def package_graph(folder: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Each module of a package and the modules of that package it imports."""
    modules = {module_name(p, root) for p in sources(folder, root)}
    graph: dict[str, set[str]] = {}
    for path in sources(folder, root):
        edges = set()
        for module, names in imports(path, root):
            submodules = {f"{module}.{n}" for n in names} & modules
            edges |= submodules or ({module} & modules)
        graph[module_name(path, root)] = edges - {module_name(path, root)}
    return graph


def test_the_library_imports_nothing_of_the_dashboard_bench_or_tests():
    offending = [
        (module_name(path), module)
        for path in sources("caching")
        for module, _ in imports(path)
        if module.split(".")[0] in ("dashboard", "bench", "tests")
    ]
    assert offending == []


def test_the_library_has_no_import_circle():
    graph = package_graph("caching")
    assert "caching.extension" in graph["caching"] and "caching.context" in graph["caching.model"]
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError, naming the circle


def test_the_dashboard_uses_only_the_public_api():
    offending = []
    for path in sources("dashboard"):
        for module, names in imports(path):
            if module.split(".")[0] != "caching":
                continue
            if module not in PUBLIC_MODULES:
                offending.append((module_name(path), module))
            elif module == "caching":
                offending += [(module_name(path), f"caching.{n}") for n in names if n not in caching.__all__]
    assert offending == []


def test_every_public_name_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in caching.__all__ if f"`{name}" not in readme]
    assert missing == []


@pytest.mark.parametrize(
    ("source", "circle"),
    [
        ("from . import b\n", True),
        ("def late():\n    from .b import thing\n", True),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import thing\n", False),
    ],
)
def test_the_checker_sees_circles_inside_functions_but_not_annotations(tmp_path, source, circle):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(source)
    (package / "b.py").write_text("from .a import late\n")
    graph = package_graph("pkg", tmp_path)
    assert graph["pkg.b"] == {"pkg.a"}
    assert ("pkg.b" in graph["pkg.a"]) is circle
    sorter = graphlib.TopologicalSorter(graph)
    if circle:
        with pytest.raises(graphlib.CycleError):
            sorter.prepare()
    else:
        sorter.prepare()
