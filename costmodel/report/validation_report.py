"""`costmodel validate`: the device model against the measured sets the repository ships,
as one Document (per set, per device, per op family: fitted, held-out, leave-one-device-out
and datasheet-roofline medians of |predicted / measured - 1|, and how many measurements
the 80% bands hold). The JSON payload is the validation summary itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .fmt import percent
from .model import Column, Document, Notes, Section, Table

GROUPS = (("sets", "by set"), ("devices", "by device"), ("families", "by op family"))


def _median(stats: Mapping[str, Any]) -> float | None:
    return float(stats["median"]) if stats.get("n") else None


def _table(key: str, title: str, groups: Mapping[str, Mapping[str, Any]]) -> Table:
    cols = (
        Column("group", "", "text", 0, elide=True),
        Column("cases", "cases", "count", 1),
        Column("fitted", "fitted", "percent", 1),
        Column("heldout", "held-out", "percent", 0),
        Column("lodo", "LODO", "percent", 0),
        Column("roofline", "roofline", "percent", 2),
        Column("band_heldout", "in band: held-out", "percent", 1),
        Column("band_lodo", "in band: LODO", "percent", 1),
    )
    rows = tuple(
        (
            name,
            b["fitted"].get("n", 0) + b["heldout"].get("n", 0),
            _median(b["fitted"]),
            _median(b["heldout"]),
            _median(b["lodo"]),
            _median(b["roofline"]),
            b.get("coverage_heldout"),
            b.get("coverage_lodo"),
        )
        for name, b in groups.items()
    )
    return Table(key, f"validation {title}: median |pred/meas - 1|", cols, rows)


def validation_document(summary: Mapping[str, Any]) -> Document:
    tables = tuple(_table(key, title, summary[key]) for key, title in GROUPS)
    lines = []
    cov = summary.get("coverage_lodo_bands") or {}
    if cov:
        lines.append(
            "LODO 80% band coverage with bands rebuilt from the other devices only: "
            + ", ".join(f"{d} {percent(v)}" for d, v in sorted(cov.items()))
        )
    s = summary["sample"]
    sample = "all rows" if s["per_group"] is None else f"up to {s['per_group']} per group"
    refit = "refitted now" if s["refit"] else "as shipped in device-model.json"
    lines.append(f"{s['cases']} cases ({sample}); leave-one-device-out parameters {refit}")
    notes = Notes("validation_notes", "sample", tuple(lines))
    data = {"schema_version": 1, **summary}
    return Document(
        "costmodel validate",
        "validate",
        (Section("validation", (*tables, notes)),),
        data,
        tuple(key for key, _ in GROUPS),
    )
