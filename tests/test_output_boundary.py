"""The rendering boundary (costmodel/report/text.py) and transactional output files
(costmodel/report/files.py): hostile names stay inert, outputs never destroy inputs."""

from __future__ import annotations

import csv
import io
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costmodel.errors import OutputError
from costmodel.report.files import check_output_path, write_atomic
from costmodel.report.text import csv_cell, html_text, inert, markup, md_cell, one_line

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;file:///etc/passwd\x07link\x1b]8;;\x07",
    "abc\u202egnp.exe",
    "[bold red]x[/]",
    "[/]",
    "[link=file:///etc/passwd]y[/link]",
    '=HYPERLINK("http://x")',
    "+1+2",
    "-cmd",
    "@SUM(A1)",
    "a|b\nc",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_inert_has_no_control_or_bidi_characters(name):
    out = inert(name)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\n" not in out


def test_inert_shows_escapes():
    assert inert("a\x1bb") == "a\\x1bb"
    assert inert("x\u202ey") == "x\\u202ey"
    assert inert("plain name/with:chars") == "plain name/with:chars"


@pytest.mark.parametrize("name", HOSTILE)
def test_markup_renders_literally_in_rich(name):
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    c = Console(file=buf, width=200, color_system=None)
    t = Table()
    t.add_column("name")
    t.add_row(markup(name))
    c.print(t)
    text = buf.getvalue()
    assert inert(name) in text  # shown literally, markup not interpreted


def test_csv_cells_are_neutralised():
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("@x") == "'@x"
    assert csv_cell("-2.5e3") == "-2.5e3"  # a number stays a number
    assert csv_cell(-3) == -3
    assert csv_cell("conv1") == "conv1"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([csv_cell(n) for n in HOSTILE])
    row = next(csv.reader(io.StringIO(buf.getvalue())))
    assert len(row) == len(HOSTILE)
    assert not any(c.startswith(("=", "+", "@")) for c in row)


def test_markdown_cell_keeps_the_table_shape():
    cell = md_cell("a|b\n# heading")
    assert "|" not in cell.replace("\\|", "")
    assert "\n" not in cell
    assert md_cell("<b>") == "&lt;b&gt;"


def test_html_text_escapes():
    assert html_text('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"


@given(st.text())
def test_inert_never_emits_c0_c1_controls(s):
    out = inert(s)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)
    assert one_line(s).count("\n") == 0


def test_write_atomic_writes_and_replaces(tmp_path):
    p = tmp_path / "out.json"
    write_atomic(p, "{}", suffixes=(".json",))
    assert p.read_text() == "{}"
    write_atomic(p, b"[1]")
    assert p.read_bytes() == b"[1]"
    assert [f.name for f in tmp_path.iterdir()] == ["out.json"]  # no temporary left behind


def test_write_atomic_refuses_an_input(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"weights")
    with pytest.raises(OutputError, match="input"):
        write_atomic(model, b"png", inputs=[model])
    assert model.read_bytes() == b"weights"


def test_write_atomic_refuses_hard_links_to_an_input(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"weights")
    alias = tmp_path / "alias.png"
    os.link(model, alias)
    with pytest.raises(OutputError):
        write_atomic(alias, b"png", inputs=[model])
    assert model.read_bytes() == b"weights"


@pytest.mark.parametrize(
    "target,msg",
    [("missing/out.png", "does not exist"), ("", "folder"), ("dir", "directory"), ("out.txt", "must end")],
)
def test_bad_targets_are_refused_before_writing(tmp_path, target, msg):
    (tmp_path / "dir").mkdir()
    path = os.path.join(tmp_path, target) if target else ""
    with pytest.raises(OutputError, match=msg):
        check_output_path(path, suffixes=(".png", ".svg"))


def test_special_files_are_refused():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(OutputError, match="regular"):
        write_atomic("/dev/full", b"x")
