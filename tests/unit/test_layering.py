"""The layering DESIGN.md §1 draws, read from the source (ast, nothing imported): no package
import cycle, no capability importing another's views, and the core, the resource tree and the
eCRF kernel importing no capability."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "datacapt"
#: Packages that are not capabilities: the kernel, the tree, the models, the language, the CLI.
NOT_CAPABILITIES = {"ecrf", "resources", "models", "expressions", "cli"}
#: May import no capability (the top-level modules are the core and are added below).
FOUNDATIONS = {"ecrf", "resources", "models", "expressions"}
#: Imports that still close a cycle, being taken apart elsewhere (the test fails if one stays
#: once it closes no cycle). None: queries and review react to a save through the reactions
#: registry, and entry imports neither.
KNOWN_CYCLE_IMPORTS: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["datacapt", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path) -> Iterator[str]:
    """The datacapt modules ``name`` imports (a name imported from a package counts as the
    submodule when there is one)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _imports() -> dict[str, set[str]]:
    return {
        name: {target for target in _imported(name, path) if target in MODULES}
        for name, path in MODULES.items()
    }


IMPORTS = _imports()


def unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: ``design`` for
    ``datacapt.design.interchange.odm``, ``audit`` for ``datacapt.audit``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def is_capability(name: str) -> bool:
    return bool(name) and (PACKAGE / name / "__init__.py").exists() and name not in NOT_CAPABILITIES


def is_core(name: str) -> bool:
    return bool(name) and (PACKAGE / f"{name}.py").exists()


def unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for source, targets in IMPORTS.items():
        edges = graph.setdefault(unit(source), set())
        edges.update(unit(target) for target in targets if unit(target) != unit(source))
    graph.pop("", None)
    for edges in graph.values():
        edges.discard("")
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _why(members: frozenset[str]) -> list[str]:
    return sorted(
        f"{source} -> {target}"
        for source, targets in IMPORTS.items()
        for target in targets
        if unit(source) in members and unit(target) in members and unit(source) != unit(target)
    )


def test_the_cycle_finder_finds_long_cycles_and_only_them():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]


def test_no_package_import_cycle():
    graph = unit_graph()
    for source, target in KNOWN_CYCLE_IMPORTS:
        assert any({source, target} <= members for members in cycles(graph)), (
            f"{source} -> {target} closes no cycle any more: delete it from KNOWN_CYCLE_IMPORTS"
        )
        graph[source].discard(target)
    found = [sorted(members) for members in cycles(graph)]
    assert not found, "\n".join(f"{members}: {_why(frozenset(members))}" for members in found)


def test_no_capability_imports_another_ones_views():
    wrong = [
        f"{source} -> {target}"
        for source, targets in IMPORTS.items()
        for target in targets
        if unit(source) != unit(target)
        and is_capability(unit(target))
        and target.rsplit(".", 1)[-1].endswith("views")
    ]
    assert not wrong


@pytest.mark.parametrize("layer", sorted(FOUNDATIONS | {"core"}))
def test_foundations_import_no_capability(layer):
    wrong = [
        f"{source} -> {target}"
        for source, targets in IMPORTS.items()
        if unit(source) == layer or (layer == "core" and is_core(unit(source)))
        for target in targets
        if is_capability(unit(target))
    ]
    assert not wrong


#: What the exports may never read: the subject repository (persons, their keys, the access
#: log) and subjects' sealed contact details. Exports join no identity to trial data.
REPOSITORY_NAMES = {
    "Person",
    "PersonKey",
    "PersonLink",
    "PiiAccess",
    "SubjectContact",
    "SubjectKey",
}


def test_no_export_imports_the_subject_repository():
    for name, targets in IMPORTS.items():
        if not name.startswith("datacapt.exports"):
            continue
        assert not {
            t
            for t in targets
            if t.startswith(("datacapt.repository", "datacapt.models.repository"))
        }, name
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("datacapt")
            for alias in node.names
        }
        assert not imported & REPOSITORY_NAMES, (name, imported & REPOSITORY_NAMES)
