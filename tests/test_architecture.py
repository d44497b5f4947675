"""The one-way layers of docs/ARCHITECTURE.md hold, function-level imports included."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGES = ("config", "statuspage", "incidents", "notifiers")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm, iteratively: every group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    imported = graph.find_modules_directly_imported_by(child)
                    work.append((child, iter(sorted(imported))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return [group for group in groups if len(group) > 1]


def test_the_import_graph_is_acyclic_with_function_level_imports_counted():
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    assert graph.find_modules_directly_imported_by("notifiers.apps") >= {"notifiers.channels"}, (
        "imports inside functions are in the graph"
    )
    assert strongly_connected(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.d", imported="a.b")
    assert strongly_connected(graph) == [{"a.b", "a.c"}]


def copy_of_the_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "locale"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


def test_the_layer_contracts_hold_on_the_tree():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_an_upward_import_inside_a_function_breaks_the_layer_contract(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    models = tree / "statuspage" / "models.py"
    models.write_text(
        models.read_text()
        + ("\n\ndef reach_up():\n    from incidents.response import workflow  # noqa: F401\n")
    )
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "statuspage.models -> incidents.response.workflow" in result.stdout
