"""The structure docs/architecture.md promises, checked over the import graph (ast, every
import statement, at module level or inside functions)."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SOURCE / "orchestrator"

# The rooms of the house: each module belongs to the first of these its name starts with.
ROOMS = ("orchestrator.campaigns.language", "orchestrator.campaigns.runtime",
         "orchestrator.application", "orchestrator.audit", "orchestrator.channels",
         "orchestrator.domain", "orchestrator.ingest", "orchestrator.persistence",
         "orchestrator.projections", "orchestrator.rendering", "orchestrator.report",
         "orchestrator.store",
         "orchestrator.demo", "orchestrator.bootstrap", "orchestrator.cli",
         "orchestrator.console", "orchestrator.errors", "orchestrator.service")

# Package markers that hold no code of their own.
MARKERS = frozenset({"orchestrator", "orchestrator.campaigns"})

# The send path: what decides and hands messages to channels.
SEND_PATH = ("orchestrator.campaigns.runtime", "orchestrator.application.dispatch",
             "orchestrator.application.running", "orchestrator.application.reviewing")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, ast.Module]:
    return {_module_name(path): ast.parse(path.read_text(encoding="utf-8"))
            for path in PACKAGE.rglob("*.py")}


@cache
def _imports() -> dict[str, frozenset[str]]:
    graph = {}
    for name, tree in _modules().items():
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = frozenset(m for m in found if m in _modules())
    return graph


def _room(module: str) -> str:
    return next(room for room in ROOMS if module == room or module.startswith(room + "."))


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for imported in _imports()[todo.pop()]:
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


def test_every_module_sits_in_a_known_room():
    homeless = [m for m in _modules() if m not in MARKERS
                and not any(m == r or m.startswith(r + ".") for r in ROOMS)]
    assert homeless == []


def test_no_package_imports_another_that_imports_it_back():
    arrows = {(_room(a), _room(b)) for a, targets in _imports().items() if a not in MARKERS
              for b in targets if b not in MARKERS and _room(a) != _room(b)}
    rooms = {room for pair in arrows for room in pair}
    reach = {room: {b for a, b in arrows if a == room} for room in rooms}
    for room in rooms:  # transitive closure, small graph
        frontier = set(reach[room])
        while frontier:
            frontier = {b for a in frontier for b in reach.get(a, ())} - reach[room]
            reach[room] |= frontier
    cycles = sorted(room for room in rooms if room in reach[room])
    assert cycles == [], f"package cycles through {cycles}"


def test_only_the_composition_root_reads_the_environment():
    readers = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            attribute = (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
                         and isinstance(node.value, ast.Name) and node.value.id == "os")
            imported = (isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                alias.name in ("environ", "getenv") for alias in node.names))
            if attribute or imported:
                readers.append(name)
    assert sorted(set(readers)) == ["orchestrator.bootstrap", "orchestrator.cli"]


def test_the_cli_only_hands_the_environment_to_the_composition_root():
    tree = _modules()["orchestrator.cli"]
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and node.attr == "environ" and isinstance(node.value, ast.Name)
            and node.value.id == "os"]
    assert len(uses) == 1  # main(): environ=os.environ if environ is None else environ


@pytest.mark.parametrize("module", sorted(
    m for m in _modules() if m.startswith(SEND_PATH)))
def test_nothing_on_the_send_path_imports_audit(module):
    assert not {m for m in _reachable(module) if m.startswith("orchestrator.audit")}


def test_audit_reads_and_never_sends():
    for module in (m for m in _modules() if m.startswith("orchestrator.audit")):
        reached = _reachable(module)
        assert not {m for m in reached if m.startswith(("orchestrator.channels",
                                                         "orchestrator.application"))}, module


def test_the_domain_does_no_io_and_depends_on_nothing_of_ours():
    io_modules = {"os", "sys", "io", "pathlib", "sqlite3", "socket", "subprocess", "time",
                  "sqlalchemy", "psycopg", "requests", "urllib.request", "shutil", "tempfile"}
    for name, tree in _modules().items():
        if not name.startswith("orchestrator.domain"):
            continue
        for node in ast.walk(tree):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for module in modules:
                assert module.split(".")[0] not in io_modules and module not in io_modules, (
                    f"{name} imports {module}")
                if module.startswith("orchestrator."):
                    assert module.startswith(("orchestrator.domain", "orchestrator.errors")), (
                        f"{name} imports {module}")


def test_drawing_a_report_reads_no_store_and_sends_nothing():
    """The report room draws what it is given: counts come from audit.report_data."""
    for module in (m for m in _modules() if m.startswith("orchestrator.report")):
        reached = _reachable(module)
        assert not {m for m in reached if m.startswith((
            "orchestrator.store", "orchestrator.persistence", "orchestrator.projections",
            "orchestrator.channels", "orchestrator.application",
            "orchestrator.campaigns.runtime"))}, module


def test_the_language_does_not_know_how_journeys_run():
    for module in (m for m in _modules() if m.startswith("orchestrator.campaigns.language")):
        reached = _reachable(module)
        assert not {m for m in reached if m.startswith((
            "orchestrator.campaigns.runtime", "orchestrator.store", "orchestrator.application",
            "orchestrator.persistence", "orchestrator.projections"))}, module


def test_only_the_composition_root_reads_the_wall_clock():
    """Everything else takes "now" as an argument (the dry-run adapters' default clock,
    for using them on their own, is the one other reader)."""
    readers = set()
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            clock_call = {"datetime": ("now", "utcnow", "today"), "date": ("today",),
                          "time": ("time", "time_ns")}.get(node.value.id, ())
            if node.attr in clock_call:
                readers.add(name)
    assert readers == {"orchestrator.bootstrap", "orchestrator.channels.dry_run.base"}
