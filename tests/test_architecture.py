"""The architecture as tests: the math imports only numpy, and imports point one way.

Dependencies point down: cli → sweep → executors / models / data / store / report →
config → errors. The graph is read from the source (every import, also those inside functions
and under TYPE_CHECKING), so a cycle hidden in a function body counts; only the CLI, on top,
may import anything lazily.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import wdcli

PACKAGE = Path(wdcli.__file__).parent
# The math: every module of these packages, and these modules.
PURE_PACKAGES = ("wdcli.models", "wdcli.metrics")
PURE_MODULES = [
    "wdcli.activations",
    "wdcli.optim",
    "wdcli.fused",
    "wdcli.fpenv",
    "wdcli.data",
    "wdcli.data.dataset",
]


def modules() -> dict[str, Path]:
    """Every module of wdcli by dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The wdcli modules that module `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            for alias in node.names:  # `from pkg import module` imports the module
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    deps = set()
    for target in targets:
        while target not in known and "." in target:
            target = target.rpartition(".")[0]
        if target in known and target != name and target.startswith("wdcli"):
            deps.add(target)
    return deps


def graph(unit=lambda module: module) -> dict[str, set[str]]:
    """Edges between units (modules, or their packages) below the CLI."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        if name == "wdcli.cli" or name.startswith(("wdcli.cli.", "wdcli.__main__")):
            continue
        here = unit(name)
        for dep in imported(name, path, known):
            if unit(dep) != here:
                edges.setdefault(here, set()).add(unit(dep))
    return edges


def package_of(module: str) -> str:
    """wdcli.sweep.plan → wdcli.sweep; top-level modules are their own unit."""
    return ".".join(module.split(".")[:2])


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, …, a], or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_math_imports_neither_pydantic_nor_yaml():
    names = sorted(name for name in modules() if name.startswith(PURE_PACKAGES)) + PURE_MODULES
    assert "wdcli.models.linear" in names and "wdcli.optim" in names
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in ('pydantic', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"imported by {names}"


def test_the_checker_sees_an_import_hidden_in_a_function(tmp_path):
    source = "def f():\n    from wdcli.sweep import run_unit\n"
    path = tmp_path / "m.py"
    path.write_text(source)
    known = {"wdcli.sweep": path, "wdcli.sweep.unit": path, "wdcli.executors.x": path}
    assert imported("wdcli.executors.x", path, known) == {"wdcli.sweep"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_module_imports_itself_round_a_cycle():
    assert find_cycle(graph()) is None


def test_no_package_imports_itself_round_a_cycle():
    assert find_cycle(graph(package_of)) is None


def test_dependencies_point_down():
    """The layers of the issue, checked edge by edge (a unit may use those below it)."""
    edges = graph(package_of)
    below = {
        "wdcli.sweep": {"wdcli.executors", "wdcli.models", "wdcli.data", "wdcli.store",
                        "wdcli.metrics", "wdcli.config"},
        "wdcli.report": {"wdcli.store", "wdcli.metrics", "wdcli.config"},
        "wdcli.executors": set(),
        "wdcli.models": {"wdcli.data", "wdcli.metrics", "wdcli.config", "wdcli.activations",
                         "wdcli.optim", "wdcli.fused", "wdcli.fpenv"},
        "wdcli.store": {"wdcli.config", "wdcli.records"},
        "wdcli.data": {"wdcli.config", "wdcli.memory"},
        "wdcli.metrics": set(),
        "wdcli.config": {"wdcli.activations", "wdcli.optim"},  # their registries name the choices
    }  # fmt: skip
    common = {
        "wdcli",
        "wdcli.errors",
        "wdcli.tasks",
        "wdcli.runkey",
        "wdcli.memory",
        "wdcli.records",
        "wdcli.interrupts",  # deferred(): steps a stop signal must not cut halfway
    }
    for unit, allowed in below.items():
        wrong = edges.get(unit, set()) - allowed - common
        assert not wrong, f"{unit} imports {sorted(wrong)}"


def test_each_kind_has_one_registry_and_everything_else_derives_from_it():
    from typing import get_args

    from wdcli.activations import ACTIVATIONS
    from wdcli.cli.app import ExecutorName, ModelName
    from wdcli.cli.starters import STARTERS
    from wdcli.config import DATASET_CONFIGS, MODEL_CONFIGS, MLPModel, json_schema
    from wdcli.data.sources import SOURCES
    from wdcli.executors import EXECUTORS
    from wdcli.models import MODELS
    from wdcli.optim import OPTIMIZERS

    assert list(MODEL_CONFIGS) == list(MODELS) == [m.value for m in ModelName]
    assert set(STARTERS) == set(MODELS)  # `init` has a starter for every model
    assert [e.value for e in ExecutorName] == list(EXECUTORS)
    assert set(SOURCES) == set(DATASET_CONFIGS)  # each dataset has its source
    fields = MLPModel.model_fields
    assert get_args(fields["activation"].annotation) == tuple(ACTIVATIONS)
    assert get_args(fields["optimizer"].annotation) == tuple(OPTIMIZERS)
    mlp = json_schema()["$defs"]["MLPModel"]["properties"]
    assert mlp["activation"]["enum"] == list(ACTIVATIONS)
    assert mlp["optimizer"]["enum"] == list(OPTIMIZERS)
