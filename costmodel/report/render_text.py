"""A Document as Markdown or CSV. Markdown carries every section (charts as the tables
of their data, which the builders always include); CSV carries the document's CSV
blocks with raw values (exact ints, SI units named in the column keys): one block is
a plain CSV table, several are separated by a blank line, each after a `# title` line.
Every cell passes through md_cell / csv_cell (report/text.py)."""

from __future__ import annotations

import csv
import io

from .cells import human, raw
from .model import Chart, Document, KeyValues, Notes, Table
from .text import csv_cell, md_cell


def to_markdown(doc: Document, *, symbolic: bool = False) -> str:
    out = [f"# {md_cell(doc.title)}", ""]
    for sec in doc.sections:
        if sec.title:
            out += [f"## {md_cell(sec.title)}", ""]
        for b in sec.blocks:
            if isinstance(b, Table):
                out += _md_table(b, symbolic, sec.title)
            elif isinstance(b, KeyValues):
                if b.title and b.title != sec.title:
                    out += [f"**{md_cell(b.title)}**", ""]
                out += ["| quantity | value |", "|---|---|"]
                out += [
                    f"| {md_cell(f.label)} | {md_cell(human(f.value, f.kind, f.unit, symbolic=symbolic))} |"
                    for f in b.fields
                ]
                out.append("")
                if b.note:
                    out += [md_cell(b.note), ""]
            elif isinstance(b, Notes) and b.lines:
                out += [f"**{md_cell(b.title)}**", ""]
                out += [f"- {md_cell(line)}" for line in b.lines]
                out.append("")
            elif isinstance(b, Chart):
                continue  # its data is a table of the same section
    return "\n".join(out).rstrip("\n") + "\n"


def _md_table(t: Table, symbolic: bool, section: str = "") -> list[str]:
    out = [f"**{md_cell(t.title)}**", ""] if t.title != section else []
    if not t.rows:
        return out + ["none", ""]
    cols = t.columns
    out.append("| " + " | ".join(md_cell(c.label) for c in cols) + " |")
    out.append("|" + "|".join("---" if c.kind in ("text", "shape", "formula", "bool") else "---:" for c in cols) + "|")
    for k, r in enumerate(t.rows):
        cells = [md_cell(human(v, c.kind, c.unit, symbolic=symbolic)) for v, c in zip(r, cols)]
        if t.levels is not None:
            cells[0] = "&nbsp;&nbsp;" * t.levels[k] + cells[0]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if t.note:
        out += [md_cell(t.note), ""]
    return out


def to_csv(doc: Document) -> str:
    blocks = [b for b in doc.blocks() if isinstance(b, (Table, KeyValues))]
    if doc.csv_blocks is not None:
        by_key = {b.key: b for b in blocks}
        blocks = [by_key[k] for k in doc.csv_blocks if k in by_key]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, b in enumerate(blocks):
        if len(blocks) > 1:
            if i:
                buf.write("\n")
            w.writerow([csv_cell("# " + (b.title or doc.title))])
        if isinstance(b, Table):
            head = [c.key for c in b.columns]
            if b.levels is not None:
                head.append("depth")
            w.writerow([csv_cell(h) for h in head])
            for k, r in enumerate(b.rows):
                cells = [csv_cell(raw(v, c.kind)) for v, c in zip(r, b.columns)]
                if b.levels is not None:
                    cells.append(b.levels[k])
                w.writerow(cells)
        else:
            w.writerow(["key", "value", "kind"])
            for f in b.fields:
                w.writerow([csv_cell(f.key), csv_cell(raw(f.value, f.kind)), f.kind])
    return buf.getvalue()
