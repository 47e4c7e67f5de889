"""Every `costmodel` command in docs/research.md's sh blocks runs (exit 0), and the JSON
keys named in the `<!-- keys: ... -->` comment after a block are present (dotted paths
into nested objects; for HELM's table, under its one model key)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex

import pytest

from costmodel_cli.main import main

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "research.md")
BLOCK = re.compile(r"```sh\n(.*?)```\n(?:<!-- keys: (.*?) -->)?", re.S)


def examples() -> list[tuple[str, tuple[str, ...]]]:
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    out = []
    for body, keys in BLOCK.findall(text):
        for line in body.splitlines():
            if line.startswith("costmodel "):
                out.append((line, tuple(keys.split()) if keys else ()))
    return out


def lookup(d: dict, path: str) -> object:
    for part in path.split("."):
        assert isinstance(d, dict) and part in d, f"{path}: no {part!r} in {sorted(d) if isinstance(d, dict) else d}"
        d = d[part]
    return d


def test_the_doc_has_examples_for_every_workflow():
    commands = {line.split()[1] for line, _ in examples()}
    assert {"scale", "rerank", "diffusion", "analyze", "memory", "llm"} <= commands
    assert len(examples()) >= 15


@pytest.mark.parametrize("line, keys", examples(), ids=[e[0][10:70] for e in examples()])
def test_example_runs(line, keys):
    argv = shlex.split(line)[1:]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    assert rc == 0, err.getvalue()
    if "--format" in argv and argv[argv.index("--format") + 1] == "json":
        d = json.loads(out.getvalue())
        if "--helm" in argv:  # HELM's structure: {model name: row}
            (d,) = d.values()
        for k in keys:
            lookup(d, k)
