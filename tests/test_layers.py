"""The import graph of src/genotel keeps the layers of docs/architecture.md: no import runs up a
layer, and no modules import each other in a circle (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "genotel"

SHARED = "shared base"
LAYERS: dict[str, set[str]] = {  # layer -> the layers it may import (itself included)
    SHARED: {SHARED},
    "statistics": {"statistics", SHARED},
    "formats": {"formats", "statistics", SHARED},
    "engine": {"engine", "formats", "statistics", SHARED},
    "beside the engine": {"beside the engine", SHARED},
    "batch runs": {"batch runs", "engine", "formats", "statistics", "beside the engine", SHARED},
}
SHARED_MODULES = {
    "genotel", "genotel.batches", "genotel.bgzf", "genotel.textio", "genotel.sniff", "genotel.record",
    "genotel.options", "genotel.errors", "genotel.formats", "genotel.argtypes", "genotel.paths", "genotel.redact",
    "genotel.ahead",
}  # fmt: skip
COMMANDS = {"genotel.cli", "genotel.diff_cli", "genotel.client.cli", "genotel.service.cli", "genotel.report.cli"}


def layer_of(module: str) -> str:
    if module in COMMANDS:
        return "commands"
    if module in ("genotel.runner", "genotel.progress", "genotel.testing"):
        return "batch runs"
    if module == "genotel.engine":
        return "engine"
    if module.startswith("genotel.extractors"):
        return "formats"
    if module.startswith("genotel.stats"):
        return "statistics"
    if module in SHARED_MODULES:
        return SHARED
    return "beside the engine"  # client, service, report, compare, record files, outputs


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The genotel modules that `path` imports anywhere in it (a name imported from a package
    that is itself a module counts as that module)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("genotel"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("genotel"):
                target = node.module
            else:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in MODULES else target)
    return {name for name in found if name in MODULES and name != module}


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {module: imports_of(path) for module, path in MODULES.items()}


def test_no_import_runs_up_a_layer() -> None:
    upward = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if layer_of(module) != "commands"
        and layer_of(target) != layer_of(module)
        and layer_of(target) not in LAYERS[layer_of(module)]
    ]
    assert upward == []


def test_no_import_circle() -> None:
    circles = []
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_graph_is_read() -> None:
    """The checks above see real arrows: the engine imports the registry, the CLI the engine."""
    assert "genotel.extractors" in GRAPH["genotel.engine"]
    assert "genotel.engine" in GRAPH["genotel.cli"]
    assert "genotel.extractors.sam.htslib" in GRAPH["genotel.extractors.sam.deep"]
