"""The layout's promises (DESIGN.md, docs/architecture.md): no import cycles, and
dependencies point one way, from the web and the CLI down through the domains to audit.

Read from the source with ``ast``, so imports inside functions count as much as those at
the top of a module: a cycle hidden in a function is still a cycle a reader must untangle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import dueprocess

ROOT = Path(dueprocess.__file__).parent

#: Modules every domain may use: vocabulary and plumbing that import no domain.
SHARED = frozenset(
    {"clock", "db", "errors", "config", "jurisdictions", "inserts", "agekeys"}
)

#: What each package's modules may import besides :data:`SHARED`. HTTP modules
#: (:data:`HTTP_MODULES`) are edges like ``web`` and the CLI: they compose pages from several
#: domains' services, and nothing below them may import them.
ALLOWED: dict[str, frozenset[str]] = {
    "audit": frozenset(),
    "documents": frozenset(),
    "connectors": frozenset(),
    "authorities": frozenset({"audit"}),
    "accounts": frozenset({"audit", "authorities"}),
    "demands": frozenset({"audit", "authorities", "accounts", "documents"}),
    "policy": frozenset({"audit", "authorities", "accounts", "demands"}),
    "transparency": frozenset({"demands"}),
    "actions": frozenset({"audit", "authorities", "accounts", "demands", "connectors", "runtime"}),
    "restrictions": frozenset(),
    "review": frozenset(
        {"audit", "authorities", "accounts", "demands", "policy", "connectors", "runtime"}
        | {"actions"}
    ),
    "intake": frozenset(
        {"audit", "authorities", "accounts", "demands", "documents", "policy", "review", "runtime"}
    ),
    "productions": frozenset(
        {"audit", "authorities", "accounts", "demands", "documents", "review", "runtime"}
    ),
}
HTTP_MODULES = frozenset(
    {
        "routes.py",
        "pages.py",
        "portal.py",
        "entry.py",
        "batch.py",
        "protected_routes.py",
        "checklist_routes.py",
        "queue_routes.py",
        "queue_pages.py",
    }
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ("dueprocess", *path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every dueprocess module ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base in MODULES:
                yield base
            yield from (f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES)


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_module_imports_itself_back_through_others() -> None:
    assert _cycles(GRAPH) == []


def _package(name: str) -> str:
    return name.split(".")[1] if name.count(".") else name


def test_dependencies_point_one_way() -> None:
    wrong = []
    for name, imported in sorted(GRAPH.items()):
        package = _package(name)
        allowed = ALLOWED.get(package)
        if allowed is None or MODULES[name].name in HTTP_MODULES:
            continue  # web, cli, demo, migrations, routes: the edges may use anything
        for target in sorted(imported):
            other = _package(target)
            if target == "dueprocess" or other == package or other in SHARED:
                continue
            if other not in allowed:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_nothing_below_the_edges_imports_them() -> None:
    edges = {"web", "cli", "demo"}
    wrong = [
        f"{name} imports {target}"
        for name, imported in sorted(GRAPH.items())
        if _package(name) not in edges and MODULES[name].name not in HTTP_MODULES
        for target in sorted(imported)
        if _package(target) in edges or MODULES[target].name in HTTP_MODULES
    ]
    assert wrong == []


def test_the_layer_rules_name_real_packages() -> None:
    packages = {_package(name) for name in MODULES}
    assert set(ALLOWED) <= packages
    assert set().union(*ALLOWED.values()) <= packages
    assert packages >= SHARED
