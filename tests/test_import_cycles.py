"""No import circles between our modules. Read from the source with ast, so an import hidden
inside a function counts as much as one at the top: hiding it there breaks the circle at run time
only, and the two modules still cannot be understood apart."""

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("bot", "knowledge", "guards", "ingest")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path, known: set[str]) -> set[str]:
    """The modules of ours that the module at `path` imports, anywhere in it. `from a.b import c`
    is a.b.c when that is a module, else a.b; relative imports are resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {module for module in found if module in known} - {name}


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    paths = [path for package in packages for path in sorted((root / package).rglob("*.py"))]
    known = {module_name(path, root) for path in paths}
    return {module_name(path, root): imported_modules(path, root, known) for path in paths}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_import_circles():
    assert circles(import_graph(ROOT)) == []


def test_the_checker_sees_a_circle_through_a_function_level_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "first.py").write_text("from pkg.sub import second\n")
    (package / "sub" / "second.py").write_text("def later():\n    from ..third import thing\n")
    (package / "third.py").write_text("import pkg.first\nthing = 1\n")
    (package / "alone.py").write_text("from pkg import first\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.sub.second"] == {"pkg.third"}
    assert circles(graph) == [["pkg.first", "pkg.sub.second", "pkg.third"]]
