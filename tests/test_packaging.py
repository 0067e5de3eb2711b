"""pyproject.toml declares what the code imports, requirements.txt pins the same environment, the
default benchmarks need no extra, and the console command is the runner's command line."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from common.runner import OPTIONAL_MODULES
from tests.conftest import REPO_ROOT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def declared() -> dict[str, list[Requirement]]:
    """pyproject's requirements by group: "" for the base dependencies, else the extra's name."""
    project = pyproject()
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(line) for line in lines] for group, lines in groups.items()}


def pinned() -> list[Requirement]:
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in (line.split("#")[0].strip() for line in lines) if line]


def by_name(requirements) -> dict[str, Requirement]:
    named = {}
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name not in named, f"{requirement.name} is listed twice"
        named[name] = requirement
    return named


def compatible(a: Requirement, b: Requirement) -> bool:
    """Some version that either specifier names satisfies both (e.g. ==2.14.1 and >=2.2)."""
    candidates = [Version(s.version) for s in (*a.specifier, *b.specifier)] or [Version("1")]
    return any(a.specifier.contains(v, prereleases=True) and b.specifier.contains(v, prereleases=True)
               for v in candidates)


def test_compatible_means_a_version_satisfies_both():
    assert compatible(Requirement("torch==2.14.1"), Requirement("torch>=2.2"))
    assert compatible(Requirement("numpy>=2.0"), Requirement("numpy>=2.0"))
    assert not compatible(Requirement("numba==0.58"), Requirement("numba>=0.60"))


def test_requirements_txt_pins_exactly_what_pyproject_declares():
    groups = declared()
    everything = by_name(r for requirements in groups.values() for r in requirements)
    environment = by_name(pinned())
    assert sorted(everything) == sorted(environment), "pyproject.toml and requirements.txt list different packages"
    for name, requirement in everything.items():
        assert requirement.extras == environment[name].extras, name
        assert compatible(requirement, environment[name]), f"{requirement} vs {environment[name]}"


def test_the_installed_environment_is_the_pinned_one():
    for requirement in pinned():
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{requirement.name} is in requirements.txt but not installed: pip install -r requirements.txt")
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement.name} {version} vs {requirement}"


def imported_modules() -> set[str]:
    """The top-level names of every non-standard module that ``common`` imports anywhere."""
    names = set()
    for path in (REPO_ROOT / "common").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("common", "__future__")}


def provided(requirements: list[Requirement]) -> set[str]:
    """Distributions that ``requirements`` install directly or through their extras
    (``dask[distributed]`` brings ``distributed``)."""
    names = set()
    for requirement in requirements:
        names.add(canonicalize_name(requirement.name))
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            if dependency.marker and any(dependency.marker.evaluate({"extra": e}) for e in requirement.extras):
                names.add(canonicalize_name(dependency.name))
    return names


def test_every_module_common_imports_is_declared_the_optional_ones_in_their_extra():
    groups = declared()
    distributions = metadata.packages_distributions()
    modules = imported_modules()
    assert {"numpy", "sklearn", "numba", "torch"} <= modules
    assert set(OPTIONAL_MODULES) <= modules
    assert set(OPTIONAL_MODULES.values()) <= set(groups)
    for module in sorted(modules):
        group = OPTIONAL_MODULES.get(module, "")
        names = {canonicalize_name(d) for d in distributions.get(module, [])}
        assert names, f"{module} is imported but not installed"
        assert names & provided(groups[group]), (
            f"common imports {module}, which {'the [' + group + '] extra' if group else 'dependencies'} "
            "in pyproject.toml does not declare"
        )
        if group:
            assert not names & provided(groups[""]), f"{module} is optional ([{group}]) but a base dependency"


def test_the_console_command_is_the_runners_command_line():
    scripts = pyproject()["scripts"]
    assert scripts == {"active-label-benchmark": "common.runner:console_main"}
    code = "import sys; from common.runner import console_main; sys.argv = ['x', *sys.argv[1:]]; sys.exit(console_main())"
    done = subprocess.run([sys.executable, "-c", code, "no-such-benchmark"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("active-label-benchmark: error: unknown benchmark 'no-such-benchmark'; registered: ")
    assert done.stderr.count("\n") == 1
    done = subprocess.run([sys.executable, "-c", code, "--help"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "usage: active-label-benchmark BENCHMARK" in done.stdout
    assert "wall-robot" in done.stdout


# A fresh interpreter in which the optional modules cannot be imported (as after a plain
# `pip install active-label-benchmark`): the dependency check passes for every built-in benchmark's
# default model and the ensemble methods' members, which imports those models' modules, except
# where the default reads a pretrained backbone (CIFAR-10H's): there it is one line naming torch.
WITHOUT_EXTRAS = textwrap.dedent('''
    import sys

    class Hidden:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"torch", "torchvision", "distributed", "dask", "jupyterlab", "nbconvert"}:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, Hidden())
    from common.execution import RunSpec
    from common.methods import METHODS
    from common.registry import benchmark_names, get_benchmark
    from common.backbones import BACKBONES
    from common.execution import UsageError
    from common.runner import check_dependencies

    needing = []
    for name in benchmark_names():
        benchmark = get_benchmark(name)
        specs = [RunSpec(benchmark, method, benchmark.default_model, seed=0, consensus_override=None, rounds=1,
                         batch_size=1, n_initial=2, folds=2)
                 for method in (METHODS["random"], METHODS["activelab_ensemble"])]
        try:
            check_dependencies(specs, scheduler=None)
        except UsageError as error:
            assert "needs torch" in str(error) and "\\n" not in str(error), error
            assert benchmark.models[benchmark.default_model].reads in BACKBONES, (name, error)
            needing.append(name)
    import common.compiled_mlp  # the default Wall Robot model's kernels
    print("checked", *benchmark_names(), "needing-images:", *needing, "torch" in sys.modules)
''')


def test_the_default_benchmarks_need_no_extra():
    done = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "checked" and "wall-robot" in done.stdout
    assert "cifar-10h" in done.stdout.split("needing-images:")[1].split()
    assert done.stdout.split()[-1] == "False"
