"""The sandbox hub stands alone: no module of the package (the hub, and the runner the
product's tests and benchmarks start it with) imports the product or the tests."""

import ast
from pathlib import Path

import sandbox_hub

PACKAGE = Path(sandbox_hub.__file__).resolve().parent


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_of_the_sandbox_imports_the_product_or_the_tests():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert PACKAGE / "runner.py" in modules
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(imported_roots(path) & {"icb", "tests"})
        for path in modules
    }
    assert {name: roots for name, roots in offenders.items() if roots} == {}
