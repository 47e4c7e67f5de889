"""The report model and its renderers on hand-made documents: number formatting, column
fitting at 80 columns, middle elision, and every format carrying the same content."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costmodel.report import fmt
from costmodel.report.cells import elide
from costmodel.report.model import Column, Document, Field, KeyValues, Section, Table, integral, json_ready, to_json
from costmodel.report.output import render, resolve_format
from costmodel.report.render_terminal import fit_columns


@pytest.mark.parametrize(
    "value,text",
    [
        (0.9996, "1.00 s"),  # 999.6 ms rounds up into seconds, never "1e+03 ms"
        (0.0007876, "788 µs"),
        (711.6, "11.9 min"),  # a duration; a rate of 711.6 tokens/s is formatted by si()
        (59.9999, "1.00 min"),
        (3 * 86400 + 4320, "3.05 d"),  # 3.05 days
        (0.0, "0 s"),
    ],
)
def test_seconds(value, text):
    assert fmt.seconds(value) == text


@pytest.mark.parametrize(
    "value,text",
    [
        (1020 * 1024, "0.996 MiB"),  # 1020 KiB has four integer digits: one unit up
        (1048473.6, "1.00 MiB"),  # 1023.9 KiB rounds to 1024 KiB = 1 MiB
        (512, "512 B"),
        (97.7 * 2**20, "97.7 MiB"),
    ],
)
def test_bytes(value, text):
    assert fmt.nbytes(value) == text


def test_rates_and_counts():
    assert fmt.si(711.6, "tokens/s") == "712 tokens/s"
    assert fmt.si(1.74e6, "tokens/s") == "1.74 M tokens/s"  # a word unit keeps its space
    assert fmt.si(1.98e15, "FLOP/s") == "1.98 PFLOP/s"
    assert fmt.si(999_700) == "1.00 M"
    assert fmt.count(1024) == "1,024"  # small counts exact
    assert fmt.count(25_557_032) == "25.6 M"
    assert fmt.percent(0.07717) == "7.7%"
    assert fmt.ratio(1.1862) == "1.19x"
    assert fmt.si("2*batch + 3") == "2*batch + 3"  # a formula at the JSON boundary stays a formula


@given(st.floats(min_value=1e-12, max_value=900 * 86400, allow_nan=False))  # days is the largest unit
def test_formatted_durations_have_at_most_three_integer_digits(v):
    text = fmt.seconds(v)
    mantissa = text.split()[0]
    assert "e" not in mantissa
    assert len(mantissa.split(".")[0].lstrip("-")) <= 3


def test_integral_makes_float_counts_exact():
    assert integral(15097965063.999998) == 15097965064
    assert integral(3) == 3


def test_json_is_strict():
    out = to_json({"a": math.nan, "b": math.inf, "c": (1, 2), "d": "\x1b[31m"})
    d = json.loads(out)
    assert d == {"a": None, "b": None, "c": [1, 2], "d": "\x1b[31m"}
    assert "\x1b" not in out  # escaped as \u001b


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=4)
    ),
    max_leaves=25,
)


@given(_JSONISH)
def test_json_layout_carries_json_readys_values(x):
    # the C-encoded layout against the reference: json_ready, then a plain dump
    assert json.loads(to_json(x)) == json.loads(json.dumps(json_ready(x), allow_nan=False))


def test_json_layout_converts_formulas_numpy_scalars_and_odd_keys():
    import numpy as np
    import sympy

    n = sympy.Symbol("n")
    x = {
        "ops": [{"flops": 2 * n, "half": sympy.Rational(1, 2)}, {"count": np.int64(3), "t": np.float64("nan")}],
        "deep": {"a": {"b": [np.float32(0.5), {(1, 2): "tuple key"}]}},
        7: "int key",
    }
    expected = json.loads(json.dumps(json_ready(x), allow_nan=False))
    assert json.loads(to_json(x)) == expected
    assert expected["ops"][0] == {"flops": "2*n", "half": 0.5} and expected["ops"][1]["t"] is None


def test_json_layout_puts_each_entry_of_a_section_on_its_line():
    out = to_json({"a": 1, "ops": [{"x": 1}, {"x": [2, 3]}], "b": {"c": {"d": 1}}, "e": [], "f": {}})
    assert (
        out
        == '{\n "a": 1,\n "ops": [\n  {"x": 1},\n  {"x": [2, 3]}\n ],\n "b": {\n  "c": {"d": 1}\n },\n "e": [],\n "f": {}\n}'
    )


def test_elide_keeps_both_ends():
    name = "/encoder/layers.11/attention/self/MatMul_3"
    short = elide(name, 20)
    assert len(short) == 20 and short.startswith("/encoder/") and short.endswith("MatMul_3")


def test_fit_drops_low_priority_columns_first():
    # widths: name 30 (elidable), a 10 p0, b 10 p2, c 10 p1 -> 30+10+10+10 + 3*4+1 = 73 fits in 80
    kept, _ = fit_columns([30, 10, 10, 10], [0, 0, 2, 1], [True, False, False, False], 80)
    assert kept == [0, 1, 2, 3]
    # at 60: drop b (priority 2) first: 30+10+10 + 3*3+1 = 60
    kept, widths = fit_columns([30, 10, 10, 10], [0, 0, 2, 1], [True, False, False, False], 60)
    assert kept == [0, 1, 3] and sum(widths) + 3 * 3 + 1 <= 60
    # at 45: names shrink to 12 before priority 1 goes: 12+10+10 + 10 = 42
    kept, widths = fit_columns([30, 10, 10, 10], [0, 0, 2, 1], [True, False, False, False], 45)
    assert kept == [0, 1, 3] and widths[0] <= 15


def _doc() -> Document:
    cols = (
        Column("name", "name", "text", 0, elide=True),
        Column("flops", "FLOPs", "count", 0),
        Column("bytes", "bytes", "bytes", 2),
        Column("time_s", "time", "seconds", 1),
        Column("share", "% time", "percent", 3),
    )
    rows = tuple(
        (f"/model/layers.{i}/mlp/down_proj/MatMul_{i}", 1000 * (i + 1), 2**20 * i, 1e-3 * i, i / 45) for i in range(10)
    )
    t = Table("ops", "ops", cols, rows)
    kv = KeyValues("summary", "", (Field("flops", "FLOPs", 55_000, "count"), Field("model", "model", "m.onnx")))
    return Document("test report", "test", (Section("", (kv,)), Section("ops", (t,))), {"flops": 55_000})


def test_every_format_has_every_row():
    doc = _doc()
    md = render(doc, "markdown")
    assert md.count("/mlp/down_proj/MatMul_") == 10
    rows = list(csv.reader(io.StringIO(render(doc, "csv"))))
    names = [r[0] for r in rows if r]
    assert sum("MatMul_" in n for n in names) == 10
    html = render(doc, "html")
    assert html.count("<tr data-level") == 10
    assert json.loads(render(doc, "json")) == {"flops": 55_000}


def test_terminal_at_80_columns_never_wraps_a_row():
    text = render(_doc(), "table", width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    body = [line for line in lines if line.startswith("│") and "MatMul" in line]
    assert len(body) == 10  # one line per row: long names are elided, not folded
    assert all("…" in line for line in body)


def test_terminal_on_a_wide_console_shows_everything():
    text = render(_doc(), "table", width=200)
    assert "/model/layers.3/mlp/down_proj/MatMul_3" in text and "% time" in text


def test_format_from_suffix():
    assert resolve_format(None, "r.html") == "html"
    assert resolve_format(None, "r.md") == "markdown"
    assert resolve_format("json", "r.json") == "json"
    assert resolve_format(None, None) == "table"
    from costmodel.errors import OutputError

    with pytest.raises(OutputError, match="suffix"):
        resolve_format(None, "model.onnx")
