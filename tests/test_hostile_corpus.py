"""Issue 19's acceptance, run on our own corpus (tests/hostile_corpus.py, ~90 cases): each
case ends within its time limit under a 4 GiB address-space limit, never with a traceback
or exit 1; bad input is exit 2 with one line naming the input; no input file changes; no
raw control byte reaches stdout or stderr (they are not terminals here); JSON is strict;
CSV, Markdown and TOML outputs parse back with their shape.

The cases run in a few child processes at once (a fresh interpreter per case would cost
~1 s of start-up each): each child sets RLIMIT_AS, runs its share of cases through the
CLI's main() with stdout and stderr redirected at the file-descriptor level, and reports
exit status, time and output per case. A watchdog thread ends a child whose case runs
past its limit, so a hang fails the test instead of stalling it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.hostile_corpus import Case, build

GROUPS = 3
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, sys, tempfile, threading, time
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
cases = json.load(open(sys.argv[1]))
results = []
def dump():
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)
from costmodel_cli.main import main
for case in cases:
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    saved = os.dup(1), os.dup(2)
    def hang(name=case["name"], limit=case["max_s"]):
        results.append({"name": name, "timeout": limit})
        dump()
        os._exit(3)
    dog = threading.Timer(case["max_s"], hang)
    dog.daemon = True
    dog.start()
    t0 = time.monotonic()
    sys.stdout.flush(); sys.stderr.flush()
    os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
    try:
        rc = main(case["argv"])
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except BaseException as e:
        import traceback
        traceback.print_exc()
        rc = 99
    finally:
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(saved[0], 1); os.dup2(saved[1], 2)
    dog.cancel()
    secs = time.monotonic() - t0
    out.seek(0); err.seek(0)
    results.append({"name": case["name"], "rc": rc, "s": secs,
                    "out": out.read().decode("utf-8", "replace"), "err": err.read().decode("utf-8", "replace")})
dump()
"""


def _digest(paths: list[Path]) -> dict[str, str]:
    out = {}
    for p in paths:
        if p.is_file() and not p.is_symlink():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    cases = build(d / "in")
    inputs = [p for p in (d / "in").rglob("*") if p.is_file()]
    before = _digest(inputs)
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    procs = []
    for g in range(GROUPS):
        share = [c.__dict__ for c in cases[g::GROUPS]]
        cf, rf = d / f"cases{g}.json", d / f"results{g}.json"
        cf.write_text(json.dumps(share))
        procs.append((subprocess.Popen([sys.executable, "-c", CHILD, str(cf), str(rf)], cwd=d, env=env), rf))
    results = {}
    for p, rf in procs:
        p.wait(timeout=600)
        for r in json.loads(rf.read_text()) if rf.exists() else []:
            results[r["name"]] = r
    return cases, results, before, _digest(inputs)


def _names():
    import tempfile

    with tempfile.TemporaryDirectory() as t:
        return [c.name for c in build(Path(t))]


def test_the_corpus_is_about_eighty_cases():
    assert len(_names()) >= 80


@pytest.mark.parametrize("name", _names())
def test_case(ran, name):
    cases, results, _before, _after = ran
    case: Case = next(c for c in cases if c.name == name)
    r = results.get(name)
    assert r is not None, f"{name}: no result (its child process died on an earlier case)"
    assert "timeout" not in r, f"{name}: still running after {r['timeout']} s"
    assert r["rc"] in (0, 2), f"{name}: exit {r['rc']}\n{r['err'][-2000:]}"
    assert "Traceback" not in r["err"], r["err"]
    assert r["s"] < case.max_s
    assert not RAW.search(r["out"]), f"{name}: raw control character on stdout"
    assert not RAW.search(r["err"]), f"{name}: raw control character on stderr"
    if case.expect == "ok":
        assert r["rc"] == 0, f"{name}: {r['err']}"
    if case.expect == "bad":
        assert r["rc"] == 2, f"{name}: expected a refusal\n{r['out'][:500]}"
    if r["rc"] == 2 and case.name not in ("batch-mixed-json", "batch-mixed-csv", "batch-mixed-table"):
        lines = r["err"].strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("costmodel: error:"), r["err"]
        for n in case.names:
            assert n in lines[0], f"{name}: {n!r} not named in {lines[0]!r}"
    _check_formats(case, r)
    for k, v in case.extra.items():
        if k == "symbols":
            assert len(json.loads(r["out"])["symbols"]) == v
        if k == "absent":
            assert not os.path.exists(v)


def test_no_input_file_changed(ran):
    _cases, _results, before, after = ran
    changed = [p for p in before if before[p] != after.get(p)]
    assert not changed


def _strict_json(text: str):
    def bad(c):
        raise ValueError(f"non-strict JSON constant {c}")

    return json.loads(text, parse_constant=bad)


def _check_formats(case: Case, r: dict) -> None:
    argv = case.argv
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else None
    if r["rc"] == 0 and fmt == "json":
        _strict_json(r["out"])
    if fmt == "json" and case.argv[0] == "batch":
        rows = _strict_json(r["out"])
        assert len(rows) == 3 and [x["ok"] for x in rows] == [True, False, True]
    if fmt == "csv" and r["out"]:
        rows = list(csv.reader(io.StringIO(r["out"])))
        assert len({len(x) for x in rows if x}) == 1, "ragged CSV"
        _no_formula_cells(rows)
    if r["rc"] == 0 and fmt == "markdown":
        _markdown_tables_keep_shape(r["out"])
    if case.output and r["rc"] == 0:
        text = Path(case.output).read_text(encoding="utf-8")
        assert not RAW.search(text)
        if case.output.endswith(".toml"):
            assert tomllib.loads(text)["name"] == "box-1"
        if case.output.endswith(".csv"):
            rows = list(csv.reader(io.StringIO(text)))
            assert len({len(x) for x in rows if x}) == 1
            _no_formula_cells(rows)
        if case.output.endswith(".md"):
            _markdown_tables_keep_shape(text)


def _no_formula_cells(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "@") or (cell[:1] == "-" and not _number(cell)):
                raise AssertionError(f"formula-like CSV cell {cell!r}")


def _number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _markdown_tables_keep_shape(text: str) -> None:
    table: list[int] = []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            table.append(len(re.findall(r"(?<!\\)\|", line)))
        elif table:
            assert len(set(table)) == 1, f"a Markdown table changes width: {table}"
            table = []
