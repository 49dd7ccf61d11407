"""The import graph of server/ follows the layers (README, "Layout"): edges (HTTP, pages, the
worker, the command line) → services → store and domain → errors, timeutil, config at the
bottom. No cycles, and no import from a lower layer to a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"

BOTTOM = {"errors", "timeutil", "config", "i18n"}
HTTP = {"api", "pwa", "problems", "security", "web", "inbound"}
# What each layer may import of the app, besides itself (and the bottom, always).
MAY_IMPORT: dict[str, set[str]] = {
    "bottom": set(),
    "domain": {"domain"},
    "db": {"bottom"},
    "store": {"domain", "db"},
    "services": {"services", "store", "domain", "db"},
    "push": {"push", "services", "store", "domain", "db"},
    "http": {"http", "services", "domain"},
    "top": {"top", "http", "push", "services", "store", "domain", "db"},
}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]  # without "server"
    head = parts[0] if parts else ""
    if head in ("", *BOTTOM):
        return "bottom"
    if head in ("domain", "db", "store", "services", "push"):
        return head
    if head in HTTP:
        return "http"
    if head in ("app", "__main__", "demo"):
        return "top"
    raise AssertionError(f"{module}: add it to the layer table in {__file__}")


def module_name(path: Path) -> str:
    relative = path.relative_to(SERVER.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    base = SERVER.parent.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports_of(path: Path) -> set[str]:
    """Every server module ``path`` imports, wherever the import stands (a function body, a
    TYPE_CHECKING block): each is an edge."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("server"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("server"):
            assert node.module is not None
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if is_module(candidate) else node.module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(SERVER.rglob("*.py"))}


def test_no_import_runs_against_the_layers() -> None:
    wrong = []
    for module, targets in graph().items():
        layer = layer_of(module)
        allowed = MAY_IMPORT[layer] | {"bottom"}
        for target in targets:
            if layer_of(target) not in allowed:
                wrong.append(f"{module} ({layer}) imports {target} ({layer_of(target)})")
    assert wrong == []


def test_pages_and_the_json_api_share_services_not_each_other() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if {module.split(".")[1], target.split(".")[1]} == {"api", "pwa"}
    ]
    assert wrong == []


def test_the_import_graph_has_no_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in edges:
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_layer_table_knows_every_module() -> None:
    for module in graph():
        layer_of(module)
