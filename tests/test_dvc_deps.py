"""The package's import graph: no cycles, and every DVC stage lists exactly the code and params it uses.

Deps are computed, not trusted: for each stage command the test follows the imports of the CLI
handler it runs (lazy imports included) through the package, and compares that closure with the
stage's ``deps`` in dvc.yaml; it does the same for the ``params`` the closure reads.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import shlex
import textwrap
from pathlib import Path

import pytest
import yaml

from newsevents import cli, paths
from newsevents.params import Params

from conftest import ROOT

PACKAGE = ROOT / "src" / "newsevents"
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
#: Files a module reads at run time by name (templates, CSS, JS) count as its code too.
DATA_SUFFIXES = (".j2", ".css", ".js", ".md")


def module_file(name: str) -> Path:
    rel = Path(*name.split("."))
    init = ROOT / "src" / rel / "__init__.py"
    return init if init.exists() else ROOT / "src" / rel.with_suffix(".py")


def imports_of(tree: ast.AST, current: str) -> set[str]:
    """Package modules imported anywhere in ``tree`` (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("newsevents")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                base = ".".join(current.split(".")[: -node.level] + ([base] if base else []))
            if not base.startswith("newsevents"):
                continue
            for a in node.names:  # `from newsevents import atomic` imports a module
                sub = f"{base}.{a.name}"
                found.add(sub if module_file(sub).exists() else base)
    parents = {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
    return {m for m in found | parents if module_file(m).exists()}


def package_modules() -> list[str]:
    return sorted(
        ".".join(p.relative_to(ROOT / "src").with_suffix("").parts).removesuffix(".__init__")
        for p in PACKAGE.rglob("*.py")
    )


def module_imports(name: str, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(module_file(name).read_text(encoding="utf-8"))
    if top_level_only:
        tree = ast.Module(body=[n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], type_ignores=[])
    return imports_of(tree, name) - {name}


def closure(start: set[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += module_imports(m)
    return seen


def test_no_import_cycle_inside_the_package():
    """Any import (module level or inside a function) counts: a cycle hidden in a function is a cycle."""
    graph = {m: module_imports(m) - {m} for m in package_modules()}
    # __init__ of a subpackage is imported by its children; that is not a cycle of logic.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d] if d in stack else [m, d]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def handler_of(argv: list[str]):
    args = cli.build_parser().parse_args(argv)
    return args.func, args


def stage_closure(cmd: str) -> tuple[set[str], argparse.Namespace]:
    """Modules a stage's command runs: the handler's imports and the CLI's module-level ones."""
    argv = shlex.split(cmd)
    assert argv[0] == "newsevents", cmd
    func, args = handler_of(argv[1:])
    handler = ast.parse(textwrap.dedent(inspect.getsource(func)))
    start = imports_of(handler, "newsevents.cli") | module_imports("newsevents.cli", top_level_only=True)
    helpers = {n.func.id for n in ast.walk(handler) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    for name in helpers & {n for n, _ in inspect.getmembers(cli, inspect.isfunction)}:  # e.g. _project
        start |= imports_of(ast.parse(textwrap.dedent(inspect.getsource(getattr(cli, name)))), "newsevents.cli")
    return closure(start), args


def data_files(modules: set[str]) -> set[str]:
    """Package data files (templates, CSS, JS) whose names appear in the closure's source."""
    sources = "\n".join(module_file(m).read_text(encoding="utf-8") for m in modules)
    return {
        str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*")
        if p.suffix in DATA_SUFFIXES and p.is_file() and p.name in sources
    }


STAGES = sorted(DVC["stages"])


@pytest.mark.parametrize("stage", STAGES)
def test_stage_code_deps_are_its_import_closure(stage):
    spec = DVC["stages"][stage]
    modules, _ = stage_closure(spec["cmd"])
    code = {str(module_file(m).relative_to(ROOT)) for m in modules} - {"src/newsevents/cli.py"}
    code |= data_files(modules)
    declared = {d for d in spec["deps"] if d.startswith("src/")}
    declared_files = {str(p.relative_to(ROOT)) for d in declared
                      for p in ([ROOT / d] if (ROOT / d).is_file() else (ROOT / d).rglob("*")) if p.is_file()}
    assert declared_files >= code, f"{stage}: code it runs but dvc.yaml does not list: {sorted(code - declared_files)}"
    assert code >= declared_files, f"{stage}: listed in dvc.yaml but never run: {sorted(declared_files - code)}"


def params_read(modules: set[str]) -> set[str]:
    """``params.<section>`` (a whole section) and ``params.<section>.<field>`` reads in the modules."""
    sections = {f.name: {g.name for g in dataclasses.fields(f.type if isinstance(f.type, type) else
                                                          type(getattr(Params(), f.name)))}
                for f in dataclasses.fields(Params)}
    found: set[str] = set()
    for m in modules - {"newsevents.params"}:  # its own validation reads every field
        tree = ast.parse(module_file(m).read_text(encoding="utf-8"))
        parents = {id(c): n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in ("params", "prm") and node.attr in sections):
                up = parents.get(id(node))
                if isinstance(up, ast.Attribute) and up.attr in sections[node.attr]:
                    found.add(f"{node.attr}.{up.attr}")
                else:
                    found.add(node.attr)
    # a whole section read makes its single fields redundant
    return {p for p in found if p.split(".")[0] not in found or "." not in p}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_params_are_the_params_it_reads(stage):
    spec = DVC["stages"][stage]
    modules, _ = stage_closure(spec["cmd"])
    assert set(spec.get("params") or []) == params_read(modules), stage


@pytest.mark.parametrize("stage", STAGES)
def test_stage_paths_are_the_defaults_in_paths_py(stage):
    """dvc.yaml names the same files as paths.py: every path the command passes is one of its constants,
    and every data dep and out the stage declares is a path the command passes."""
    spec = DVC["stages"][stage]
    _, args = stage_closure(spec["cmd"])
    known = {str(v) for k, v in vars(paths).items() if k.isupper() and isinstance(v, Path)}
    passed = {str(v) for k, v in vars(args).items() if isinstance(v, Path) and k != "params"}
    assert passed <= known, f"{stage}: paths not in paths.py: {sorted(passed - known)}"
    outs = {next(iter(o)) if isinstance(o, dict) else o for key in ("outs", "metrics", "plots")
            for o in spec.get(key) or []}
    data = {d for d in spec["deps"] if not d.startswith("src/")}
    for path in outs | data:
        assert any(path == p or path.startswith(p + "/") for p in passed), f"{stage}: {path} is not passed by its command"
