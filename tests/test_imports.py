"""Imports among the modules of ``common`` only go down: no module imports one that imports it back.

A fresh interpreter imports every module of ``common`` with a hook on ``__import__`` and
``importlib.import_module`` that records each import one ``common`` module makes of another, then
looks up every built-in benchmark (the registry imports the suites then), and the graph is checked
for cycles. Imports inside functions run only when called, so they are also read from the source
(a static pass over every module's ``import`` statements) and checked the same way.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO_ROOT

COMMON = REPO_ROOT / "common"

RECORD_IMPORTS = textwrap.dedent('''
    import builtins, importlib, importlib.util, json, pkgutil, sys

    edges = set()

    def record(importer, target):
        if importer.split(".")[0] == "common" and target.split(".")[0] == "common" and importer != target:
            edges.add((importer, target))

    real_import = builtins.__import__

    def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
        module = real_import(name, globals, locals, fromlist, level)
        importer = (globals or {}).get("__name__", "")
        if importer.startswith("common"):
            base = importlib.util.resolve_name("." * level + name, globals.get("__package__")) if level else name
            record(importer, base)
            for item in fromlist or ():
                if f"{base}.{item}" in sys.modules:  # "from package import submodule"
                    record(importer, f"{base}.{item}")
        return module

    real_import_module = importlib.import_module

    def recording_import_module(name, package=None):
        module = real_import_module(name, package)
        record(sys._getframe(1).f_globals.get("__name__", ""), module.__name__)
        return module

    builtins.__import__ = recording_import
    importlib.import_module = recording_import_module

    import common
    names = ["common"] + [m.name for m in pkgutil.walk_packages(common.__path__, "common.")]
    missing = {}
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:  # an optional dependency that is not installed
            missing[name] = str(error)

    from common.registry import benchmark_names, get_benchmark
    benchmarks = benchmark_names()
    for benchmark in benchmarks:
        get_benchmark(benchmark)
    print(json.dumps({"modules": names, "missing": missing, "benchmarks": benchmarks,
                      "edges": sorted(edges)}))
''')


def find_cycle(edges: set[tuple[str, str]]) -> list[str]:
    """One cycle of the directed graph ``edges`` as a path ``[a, b, ..., a]``, or [] if none."""
    graph: dict[str, list[str]] = {}
    for source, target in sorted(edges):
        graph.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in graph.get(node, []):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def static_import_edges(root: Path = COMMON) -> set[tuple[str, str]]:
    """Every import of a ``common`` module written in a ``common`` module's source, at any depth
    (inside functions too), including ``from package import submodule``."""
    edges = set()
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if parts[-1] == "__init__" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names
                                    if _is_module(root.parent, f"{base}.{alias.name}")]
            else:
                continue
            edges.update((module, t) for t in targets if t.split(".")[0] == "common" and t != module)
    return edges


def _is_module(top: Path, name: str) -> bool:
    path = top.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_find_cycle_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({("a", "b"), ("b", "c"), ("a", "c")}) == []
    assert find_cycle({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == ["a", "b", "c", "a"]


def test_the_static_pass_sees_imports_inside_functions(tmp_path):
    package = tmp_path / "common"
    (package / "suites").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "suites" / "__init__.py").write_text("from common.suites import one\n")
    (package / "suites" / "one.py").write_text("from common.benchmark import register\n")
    (package / "benchmark.py").write_text("def get(name):\n    import common.suites\n")
    edges = static_import_edges(package)
    assert ("common.benchmark", "common.suites") in edges
    assert ("common.suites", "common.suites.one") in edges
    assert find_cycle(edges) == ["common.benchmark", "common.suites", "common.suites.one", "common.benchmark"]


def test_importing_every_module_and_looking_up_every_benchmark_makes_no_import_cycle():
    done = subprocess.run([sys.executable, "-c", RECORD_IMPORTS], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    graph = json.loads(done.stdout.strip().splitlines()[-1])
    edges = {tuple(edge) for edge in graph["edges"]}
    imported = set(graph["modules"]) - set(graph["missing"])
    assert {"common.runner", "common.registry", "common.benchmark", "common.suites.wall_robot"} <= imported
    assert {"wall-robot", "music-genre", "cifar-10h"} <= set(graph["benchmarks"])
    # the hook saw the registry load the suites and the suites register into common.benchmark
    assert ("common.registry", "common.suites") in edges
    assert ("common.suites.wall_robot", "common.benchmark") in edges
    assert find_cycle(edges) == [], f"import cycle: {' -> '.join(find_cycle(edges))}"


def test_no_import_in_the_source_closes_a_cycle_even_inside_a_function():
    edges = static_import_edges()
    assert ("common.runner", "common.registry") in edges
    cycle = find_cycle(edges)
    assert cycle == [], f"import cycle: {' -> '.join(cycle)}"
