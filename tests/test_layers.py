"""Imports run one way (docs/architecture.md, "Layers and imports").

Parses every module under src/icb (migrations aside) and fails on an import cycle, on a
model, service, selector or other inner module that imports a higher layer, and on a
function-local import of a higher layer (an edge may import a higher app, but only in one
declared, top-level import)."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. Apps of one layer may import each other; a higher layer never is imported
# by a lower one except from an edge (below).
LAYERS = {
    "common": 0,
    "tenancy": 1,
    "events": 2,  # the outbox: every layer above records events
    "crm": 3,
    "hub": 3,
    "contracts": 4,
    "mapping": 4,
    "billing_sync": 5,
    "review": 6,
    "invoicing": 6,
    "notify": 7,  # delivers events and composes the digest: reads every layer below
    "web": 8,
}
# icb/api.py, urls.py, settings.py, celery.py, cli.py, demo.py, wsgi.py: above everything.
PROJECT = max(LAYERS.values()) + 1

# The edges of an app: they parse, check permission, call a service, render. They may
# import a higher app's service or selector through a top-level import. An app's pages
# may be split into several view modules, named "*_views" (contracts.service_views).
EDGE_MODULES = {"views", "api", "urls", "tasks"}
EDGE_PACKAGES = {"templatetags", "management"}

# Known imports being removed elsewhere; each entry must still exist (a stale one fails).
ALLOWED: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted((SRC / "icb").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> list[tuple[str, int, bool]]:
    """(imported icb module, line, inside a function) for every import in a module."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = []

    def resolve(target: str, line: int, local: bool) -> None:
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target.startswith("icb"):
            found.append((target, line, local))

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    resolve(alias.name, child.lineno, local)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(base + ([child.module] if child.module else []))
                else:
                    base = child.module
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    resolve(submodule if submodule in MODULES else base, child.lineno, local)
            visit(child, inner)

    visit(tree, False)
    return [item for item in dict.fromkeys(found) if item[0] != name]


IMPORTS = {name: _imports(name) for name in MODULES}


def _app(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) > 1 and (SRC / "icb" / parts[1]).is_dir():
        return parts[1]
    return None


def _layer(name: str) -> int:
    app = _app(name)
    return PROJECT if app is None else LAYERS[app]


def _is_edge(name: str) -> bool:
    """Views, API, URLs, tasks, template tags, commands; none in common, the lowest layer."""
    parts = name.split(".")
    if _app(name) == "common":
        return False
    return (
        parts[-1] in EDGE_MODULES
        or parts[-1].endswith("_views")
        or bool(EDGE_PACKAGES & set(parts[2:-1]))
    )


def _upward(name: str):
    """Imports of a higher layer: (imported, line, local)."""
    for imported, line, local in IMPORTS[name]:
        if (name, imported) not in ALLOWED and _layer(imported) > _layer(name):
            yield imported, line, local


def test_the_parser_sees_top_level_and_local_imports():
    assert ("icb.common.errors", False) in {(i, local) for i, _, local in IMPORTS["icb.crm.api"]}
    assert ("icb.crm.api", True) in {(i, local) for i, _, local in IMPORTS["icb.api"]}
    assert ("icb.crm.services", False) in {(i, local) for i, _, local in IMPORTS["icb.crm.api"]}


def test_every_app_has_a_layer():
    apps = {p.name for p in (SRC / "icb").iterdir() if (p / "__init__.py").exists()}
    assert apps - LAYERS.keys() == set(), "give the new app a layer in LAYERS"


def test_no_import_cycles():
    graph = {
        name: {imported for imported, _, _ in IMPORTS[name] if (name, imported) not in ALLOWED}
        for name in MODULES
    }
    # Tarjan's strongly connected components: any component of two or more is a cycle.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            connect(name)
    assert cycles == []


@pytest.mark.parametrize(
    "name", sorted(n for n in MODULES if not _is_edge(n) and _app(n) is not None)
)
def test_inner_modules_import_only_their_layer_or_lower(name):
    """Models, services, selectors, forms, common/…: never a higher app."""
    assert [f"line {line}: {imported}" for imported, line, _ in _upward(name)] == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _is_edge(n)))
def test_edges_import_a_higher_app_only_at_the_top(name):
    """A view may call a higher app's service, through one declared top-level import."""
    hidden = [f"line {line}: {imported}" for imported, line, local in _upward(name) if local]
    assert hidden == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_app_imports_another_apps_views(name):
    """A page section that belongs to another app is rendered by that app (an inclusion
    tag), not by importing its views."""
    foreign = [
        f"line {line}: {imported}"
        for imported, line, _ in IMPORTS[name]
        if imported.endswith(".views")
        and _app(imported) != _app(name)
        and (name, imported) not in ALLOWED
    ]
    assert foreign == []


def test_allowances_are_still_needed():
    stale = sorted(edge for edge in ALLOWED if edge[1] not in {i for i, _, _ in IMPORTS[edge[0]]})
    assert stale == [], "remove these from ALLOWED"
