"""The layout the README draws: imports point down (bot -> ingest -> knowledge, bot -> guards ->
knowledge; nothing imports bot), read from the source with ast, so a lazy import inside a
function counts too. And no module over 300 lines."""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

ALLOWED = {
    "knowledge": set(),
    "guards": {"knowledge"},
    "ingest": {"knowledge"},
    "bot": {"knowledge", "guards", "ingest"},
}
MAX_LINES = 300


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def our_imports(path: Path) -> set[str]:
    """The packages of ours that `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(our_imports(path) - ALLOWED[package] - {package})
        for path in modules(package)
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_checker_sees_a_wrong_import(tmp_path):
    module = tmp_path / "upward.py"
    module.write_text(
        "def later():\n    from bot.chain.agent import Agent\n    import ingest.cli\n"
    )
    assert our_imports(module) == {"bot", "ingest"}


def test_no_module_is_over_300_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for package in ALLOWED
        for path in modules(package)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None, reason="needs ruff: pip install '.[test]'"
)
def test_ruff_check_passes():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None, reason="needs ruff: pip install '.[test]'"
)
def test_the_tree_is_formatted():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, "run `ruff format .`:\n" + done.stdout + done.stderr


BENCHMARKS = sorted(
    p.stem for p in (ROOT / "tests" / "benchmarks").glob("*.py") if p.stem != "__init__"
)


def test_every_benchmark_still_imports():
    # Benchmarks run by hand, so nothing else notices when a name they import moves away
    # (turn.py failed on a setting renamed a stop before).
    code = "import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)"
    modules = [f"tests.benchmarks.{name}" for name in BENCHMARKS]
    done = subprocess.run(
        [sys.executable, "-c", code, *modules], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
