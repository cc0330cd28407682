"""The shape of the code: no import cycle among curate/, audit/ and finetune/ (lazy imports
included), no import of another module's _private name, no engine or runner that names a step
or check, and the core reaches audit/finetune only at its entry points."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from curate import registry

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("curate", "audit", "finetune")
#: modules that schedule steps and checks: they must not know any by name
ENGINES = (
    "curate.pipeline",
    "curate.parallel",
    "curate.checkpoint",
    "curate.runner",
    "curate.cleaning",
    "curate.engine_ray",
    "curate.ray_io",
    "audit.run",
    "audit.sink",
)
ENTRY_POINTS = ("curate.api", "curate.cli", "curate.cli_rules")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import statement, lazy ones too."""
    out = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.append((base, [alias.name for alias in node.names]))
    return out


def _owner(module: str) -> str | None:
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for module, names in _imports(name, path):
            for imported in [f"{module}.{n}" for n in names] or [module]:
                owner = _owner(imported) if f"{imported}" in MODULES else _owner(module)
                if owner and owner != name:
                    targets.add(owner)
        graph[name] = targets
    return graph


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


def test_no_module_imports_another_modules_private_names() -> None:
    reach_ins = [
        f"{name} <- {module}.{taken}"
        for name, path in MODULES.items()
        for module, names in _imports(name, path)
        for taken in names
        if taken.startswith("_")
        and not taken.startswith("__")
        and _owner(module) != name
        and module.split(".")[0] in PACKAGES
    ]
    assert reach_ins == []


def test_the_core_imports_audit_and_finetune_only_at_its_entry_points() -> None:
    graph = _graph()
    for name, targets in graph.items():
        if name.startswith("curate") and name not in ENTRY_POINTS:
            assert not [t for t in targets if t.split(".")[0] in ("audit", "finetune")], name


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_and_runners_name_no_step_or_check(engine: str) -> None:
    registry.load_plugins()
    if engine not in MODULES:
        pytest.skip(f"{engine} does not exist")
    text = MODULES[engine].read_text(encoding="utf-8")
    names = [*registry.STEPS, *registry.CHECKS]
    quoted = [n for n in names if re.search(rf"[\"']{re.escape(n)}[\"']", text)]
    assert quoted == []
