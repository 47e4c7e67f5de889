"""Project hygiene: the layering (lower layers never import higher ones), the package list
in pyproject.toml, and the README Quickstart / .ci/run agreement."""

from __future__ import annotations

import ast
import os
import re
import tomllib

ROOT = os.path.join(os.path.dirname(__file__), "..")
# the pipeline in folder order; a module may import its own layer and the ones before it
LAYERS = [
    "errors",
    "readfile",
    "symnames",
    "symbudget",
    "symbolic",
    "limits",
    "ir",
    "frontends",
    "passes",
    "ops",
    "analysis",
    "hardware",
    "engine",
    "planners",
    "report",
    "api",
    "batch",
    "compare",
]
RANK = {name: i for i, name in enumerate(LAYERS)}
# the front ends build graphs with the same op vocabulary, never costs (only ops registry
# names); they may not import analysis, engine, planners or report
ALLOWED_UP = {
    ("frontends", "ops"),
    ("frontends", "passes"),
    ("hardware", "engine"),
    ("frontends", "analysis"),
    ("ir", "errors"),
}


def _layer(mod: str) -> str | None:
    parts = mod.split(".")
    if parts[0] != "costmodel" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def test_lower_layers_never_import_higher_ones():
    bad = []
    pkg = os.path.join(ROOT, "costmodel")
    for dirpath, _, files in os.walk(pkg):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            me = _layer(rel if not rel.endswith("__init__") else rel[: -len(".__init__")] + ".x")
            if me is None:
                continue
            tree = ast.parse(open(path).read())
            for node in ast.walk(tree):
                targets = []
                if isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = rel.split(".")[: -node.level]
                        targets.append(".".join(base + ([node.module] if node.module else [])))
                    elif node.module:
                        targets.append(node.module)
                elif isinstance(node, ast.Import):
                    targets += [a.name for a in node.names]
                for t in targets:
                    other = _layer(t)
                    if other and RANK[other] > RANK[me] and (me, other) not in ALLOWED_UP:
                        bad.append(f"{rel} imports {t}")
    assert not bad, bad


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
