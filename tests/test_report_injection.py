"""Hostile names, once per output format: the same ANSI/OSC sequences, bidi overrides,
rich markup, spreadsheet formulas, pipes and newlines in node names, model file names,
spec names and hardware profile names. Nothing raw reaches a terminal, JSON stays
strict, CSV and Markdown parse back with their shape, HTML stays escaped."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from onnx import helper

from costmodel_cli.main import main
from tests.helpers import model, vi

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;file:///etc/passwd\x07link\x1b]8;;\x07",
    "abc\u202egnp.exe",
    "[bold red]x[/]",
    "[/]",
    "[link=file:///etc/passwd]y[/link]",
    "=HYPERLINK(1)",
    "+1+2",
    "@SUM(A1)",
    "a|b\nc",
    "<script>alert(1)</script>",
]
# one spec / profile name carrying all of them
NAME = "\x1b[31mx\x1b]8;;y\x07[bold red]=cmd|a\nb\u202e<script>z[/]"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
FORMATS = ["table", "json", "csv", "markdown", "html"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    nodes = []
    x = "x"
    for i, name in enumerate(HOSTILE):
        nodes.append(helper.make_node("Relu", [x], [f"y{i}"], name=name))
        x = f"y{i}"
    onnx_path = d / (NAME.replace("/", "") + ".onnx")  # a path component cannot hold '/'
    onnx_path.write_bytes(model(nodes, [vi("x", [1, 64])], [vi(x, [1, 64])]).SerializeToString())
    spec = d / "spec.yaml"
    spec.write_text(
        "name: " + json.dumps(NAME) + "\narchitecture: decoder\nvocab_size: 64\nhidden_size: 32\nnum_layers: 1\n"
        "num_heads: 2\nintermediate_size: 64\n"
    )
    prof = d / "gpu.toml"
    prof.write_text(
        'name = "evil-gpu"\ndisplay_name = ' + json.dumps(NAME) + '\nvendor = "x"\nkind = "gpu"\n'
        "[matrix]\nbf16_tflops = 100\nfp32_tflops = 50\n[vector]\nfp32_tflops = 20\nbf16_tflops = 20\n"
        "[memory]\nbandwidth_GBps = 1000\ncapacity_GiB = 16\n"
    )
    return {"onnx": onnx_path, "spec": spec, "profile": prof}


def run(capsys, monkeypatch, *argv):
    monkeypatch.setenv("COLUMNS", "300")  # wide: names shown whole, not elided
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def check(fmt: str, out: str, err: str, names: list[str]) -> None:
    assert not RAW.search(out), repr(RAW.search(out))
    assert not RAW.search(err), repr(err)
    if fmt == "json":
        d = json.loads(out, parse_constant=lambda c: pytest.fail(f"JSON constant {c}"))
        strings: list[str] = []

        def walk(v):
            if isinstance(v, str):
                strings.append(v)
            elif isinstance(v, dict):
                for k, x in v.items():
                    walk(k)
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)

        walk(d)
        for n in names:
            assert any(n in s for s in strings), n  # JSON carries the exact name (\u-escaped on the wire)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        for row in rows:
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@"):
                    float(cell)  # only plain numbers may start with a sign
    elif fmt == "markdown":
        for line in out.splitlines():
            if line.startswith("|"):
                cells = re.split(r"(?<!\\)\|", line)
                assert len(cells) >= 3
        tables = re.findall(r"(\|.*\|\n)+", out)
        for t in tables:
            widths = {len(re.split(r"(?<!\\)\|", r)) for r in t.strip().splitlines()}
            assert len(widths) == 1, t
        assert "<script>" not in out and "\n#" not in out.replace("\n# costmodel", "").replace("\n## ", "\n")
    elif fmt == "html":
        assert "<script>alert" not in out and "<script>z" not in out
        assert "[link=file" not in out or "&lt;" in out
        body = out.split('<script type="application/json"')[0]
        assert body.count("<script") == 0  # no script before the report's own
    else:
        assert "[bold red]" in out  # markup shown, not interpreted


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_node_and_file_names(capsys, monkeypatch, hostile, fmt):
    rc, out, err = run(capsys, monkeypatch, "analyze", hostile["onnx"], "--per-op", "--format", fmt)
    assert rc == 0
    check(fmt, out, err, HOSTILE if fmt == "json" else [])


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_spec_and_hardware_names(capsys, monkeypatch, hostile, fmt):
    rc, out, err = run(
        capsys,
        monkeypatch,
        "analyze",
        hostile["spec"],
        "--set",
        "batch=1",
        "--set",
        "seq=4",
        "--hardware",
        hostile["profile"],
        "--format",
        fmt,
    )
    assert rc == 0, err
    check(fmt, out, err, [NAME] if fmt == "json" else [])


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown", "html"])
def test_hostile_names_in_llm_reports(capsys, monkeypatch, hostile, fmt):
    rc, out, err = run(
        capsys,
        monkeypatch,
        "llm",
        hostile["spec"],
        "--hardware",
        hostile["profile"],
        "--prompt-len",
        "8",
        "--output-len",
        "2",
        "--format",
        fmt,
    )
    assert rc == 0, err
    check(fmt, out, err, [NAME] if fmt == "json" else [])


def test_hostile_names_in_error_messages(capsys, monkeypatch, hostile):
    rc, _out, err = run(capsys, monkeypatch, "analyze", str(hostile["onnx"]) + ".missing")
    assert rc == 2 and err.count("\n") == 1 and not RAW.search(err)
