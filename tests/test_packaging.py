"""Project hygiene: the layering (lower layers never import higher ones, no exceptions),
no import cycle among costmodel's modules, the package list in pyproject.toml, and the
README Quickstart / .ci/run agreement."""

from __future__ import annotations

import ast
import os
import re
import tomllib
from collections.abc import Iterator

import networkx as nx

ROOT = os.path.join(os.path.dirname(__file__), "..")
PKG = os.path.join(ROOT, "costmodel")
# The dependency DAG in order (docs/architecture.md draws it): a module may import its
# own layer and the ones before it. Front ends translate into the IR and know no op
# rules; `traced` analyses a traced PyTorch module; the engine is pure functions over a
# device's figures, and hardware (profiles, systems) builds on its records.
LAYERS = [
    "errors",
    "datafile",
    "resources",
    "parallel",
    "symnames",
    "symbudget",
    "symbolic",
    "limits",
    "ir",
    "frontends",
    "passes",
    "ops",
    "analysis_records",
    "analysis_memo",
    "analysis_outcome",
    "analysis_rows",
    "analysis",
    "traced",
    "hardware",
    "engine",
    "planners",
    "report",
    "api",
    "batch",
    "compare",
]
RANK = {name: i for i, name in enumerate(LAYERS)}


def _modules() -> dict[str, tuple[str, bool]]:
    """Dotted module name -> (path, is a package __init__)."""
    out = {}
    for dirpath, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                pkg = rel.endswith(".__init__")
                out[rel[: -len(".__init__")] if pkg else rel] = (path, pkg)
    return out


def _imports(name: str, path: str, pkg: bool, module_level: bool) -> Iterator[str]:
    """Dotted targets of a module's imports: every import, or only those that run when the
    module is imported (not inside a function)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    nodes: list[ast.AST] = []
    if module_level:
        todo: list[ast.AST] = list(tree.body)
        while todo:
            n = todo.pop()
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            nodes.append(n)
            todo.extend(ast.iter_child_nodes(n))
    else:
        nodes = list(ast.walk(tree))
    base = name.split(".") if pkg else name.split(".")[:-1]
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = base[: len(base) - (node.level - 1)]
                mod = ".".join(up + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names]
            # `from . import x` imports the module x (its package is its parent, as for
            # every import of a submodule); `from m import name` imports m
            yield from (x for x in subs if x in MODULES) if any(x in MODULES for x in subs) else [mod]


MODULES = _modules()


def _layer(mod: str) -> str | None:
    parts = mod.split(".")
    if parts[0] != "costmodel" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def test_every_top_level_module_has_a_layer():
    tops = {m.split(".")[1] for m in MODULES if m.count(".") >= 1}
    assert tops - {"__main__", "examples", "data"} <= set(RANK), tops - set(RANK)


def test_lower_layers_never_import_higher_ones():
    bad = []
    for name, (path, pkg) in MODULES.items():
        me = _layer(name if not pkg else name + ".x")
        if me is None:
            continue
        for t in _imports(name, path, pkg, module_level=False):
            other = _layer(t)
            if other and RANK[other] > RANK[me]:
                bad.append(f"{name} imports {t}")
    assert not bad, bad


def test_no_import_cycle_among_modules():
    """What importing a module runs (module-level imports) never comes back to it."""
    mods = MODULES
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for name, (path, pkg) in mods.items():
        for t in _imports(name, path, pkg, module_level=True):
            if t in mods and t != name:
                g.add_edge(name, t)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, cycles


def test_every_package_is_listed_in_pyproject():
    conf = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))
    listed = set(conf["tool"]["setuptools"]["packages"])
    found = set()
    for dirpath, _, files in os.walk(os.path.join(ROOT, "costmodel")):
        if "__init__.py" in files and "__pycache__" not in dirpath:
            found.add(os.path.relpath(dirpath, ROOT).replace(os.sep, "."))
    assert found <= listed, found - listed


def test_readme_quickstart_has_two_commands_and_ci_runs_the_test_one():
    readme = open(os.path.join(ROOT, "README.md")).read()
    m = re.search(r"^#+\s*Quick\s*start.*?```[a-z]*\n(.*?)```", readme, re.S | re.I | re.M)
    assert m
    cmds = [line for line in m.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(cmds) == 2
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    assert cmds[1].strip() in ci


def test_readme_operator_counts_match_the_registry():
    """The README's coverage claims hold for the onnx release pyproject allows."""
    import onnx.defs

    from costmodel.ops.coverage import coverage

    readme = " ".join(open(os.path.join(ROOT, "README.md")).read().split())
    m = re.search(r"any opset 7–(\d+): all (\d+) default-domain operators", readme)
    assert m, "README no longer states the opset range and operator count"
    opset, n = int(m.group(1)), int(m.group(2))
    _, summary = coverage(opset)
    assert summary["onnx_ops"] == summary["covered"] == n
    m = re.search(r"at opset (\d+), (\d+) of (\d+), with ([A-Za-z, ]+?) listed as unsupported", readme)
    assert m, "README no longer states the coverage at the newest opset"
    newest, covered, total = int(m.group(1)), int(m.group(2)), int(m.group(3))
    assert onnx.defs.onnx_opset_version() == newest, "onnx moved: update the README and the bound in pyproject"
    rows, summary = coverage(newest)
    assert (summary["covered"], summary["onnx_ops"]) == (covered, total)
    missing = {r["op_type"] for r in rows if r["status"] == "unsupported"}
    named = {w.strip() for w in re.split(r",|\band\b", m.group(4)) if w.strip()}
    assert missing == named


def test_pytest_addopts_do_not_silence_the_readme_summary():
    """`python -m pytest -q` (the README command) must print its summary line: addopts
    with another -q would make it -qq, which prints none."""
    conf = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))
    addopts = conf["tool"]["pytest"]["ini_options"].get("addopts", "")
    assert "-q" not in addopts.split() and "--quiet" not in addopts


def test_py_typed_ships_with_the_package():
    conf = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))
    assert os.path.isfile(os.path.join(ROOT, "costmodel", "py.typed"))
    assert "py.typed" in conf["tool"]["setuptools"]["package-data"]["costmodel"]
