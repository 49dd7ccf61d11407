"""The test suite's own layout: what tests share lives in tests/helpers, so no module imports from
a conftest (pytest loads those itself, for their fixtures) or from a test module."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _is_forbidden(module: str) -> bool:
    """A conftest or test module of this suite (``from x import test_y`` of a library is fine)."""
    if "." in module and not module.startswith("tests."):
        return False
    last = module.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_")


def _imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """Every module named by an import in ``tree`` (at any depth, so imports inside functions
    count), relative imports resolved against ``package``; ``from x import y`` also names
    ``x.y``, which may be a module."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def _violations(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        if any(part in {"__pycache__", "artifacts"} for part in path.parts):
            continue
        relative = path.relative_to(root.parent)
        package = ".".join(relative.parent.parts)
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, module in sorted(_imported_modules(tree, package)):
            if _is_forbidden(module):
                problems.append(f"{relative}:{line} imports {module}")
    return problems


def test_no_module_imports_from_a_conftest_or_a_test_module() -> None:
    assert _violations(TESTS) == [], "move what is shared into tests/helpers"


def test_the_check_sees_each_kind_of_forbidden_import(tmp_path: Path) -> None:
    package = tmp_path / "tests"
    (package / "api").mkdir(parents=True)
    (package / "api" / "test_bad.py").write_text(
        "from tests.conftest import PASSWORD\n"
        "import tests.unit.test_summary\n"
        "from tests.unit import test_summary\n"
        "from .conftest import thing\n"
        "from . import test_other\n"
        "def f():\n"
        "    from tests.browser.conftest import Db\n"
        "from tests.helpers.accounts import register\n"
        "import tests.helpers.database\n"
        "from hypothesis.strategies import test_cases\n"
        "import conftest\n"
    )
    assert _violations(package) == [
        "tests/api/test_bad.py:1 imports tests.conftest",
        "tests/api/test_bad.py:2 imports tests.unit.test_summary",
        "tests/api/test_bad.py:3 imports tests.unit.test_summary",
        "tests/api/test_bad.py:4 imports tests.api.conftest",
        "tests/api/test_bad.py:5 imports tests.api.test_other",
        "tests/api/test_bad.py:7 imports tests.browser.conftest",
        "tests/api/test_bad.py:11 imports conftest",
    ]
