"""`costmodel validate`: reproduce the measured sets the repository ships (a source
checkout's benchmarks/data) with the device model: fitted vs held-out vs
leave-one-device-out, per set, device and op family."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import positive_int

QUICK_PER_GROUP = 6  # cases per (set, device, op, dtype) in --quick: seconds, for CI
QUICK_ROWS_PER_FILE = 240
DEFAULT_PER_GROUP = 40  # the sample the shipped model was fitted on


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="reproduce the shipped measurements: fitted, held-out and leave-one-device-out errors",
    )
    p.add_argument("--sets", default="all", help="comma-separated: h200, neusight, vidur-a40 (default: all)")
    p.add_argument(
        "--data", metavar="DIR", help="folder of the measured sets (default: the checkout's benchmarks/data)"
    )
    p.add_argument("--quick", action="store_true", help=f"a small sample ({QUICK_PER_GROUP} per group), for CI")
    p.add_argument(
        "--per-group",
        type=positive_int,
        metavar="N",
        help=f"cases per (set, device, op, dtype); default {DEFAULT_PER_GROUP}",
    )
    p.add_argument("--all", action="store_true", help="every measured row (minutes)")
    p.add_argument(
        "--refit",
        action="store_true",
        help="refit the leave-one-device-out parameters now instead of using the shipped ones",
    )
    p.add_argument("--no-steps", action="store_true", help="skip the H200 whole-model steps")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown (docs/calibration.md)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.engine import datasets, validation
    from costmodel.errors import CostModelError

    names = list(datasets.SETS) if args.sets == "all" else [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [n for n in names if n not in datasets.SETS]
    if unknown or not names:
        raise CostModelError(f"unknown set(s) {', '.join(unknown) or '(none)'}; known: {', '.join(datasets.SETS)}")
    per = None if args.all else (args.per_group or (QUICK_PER_GROUP if args.quick else DEFAULT_PER_GROUP))
    # --quick samples from the first rows of each file (seconds instead of parsing 300k rows)
    cases = datasets.load_cases(names, args.data, per, QUICK_ROWS_PER_FILE if args.quick else None)
    lodo = _refit(cases) if args.refit else None
    rows = validation.evaluate(cases, lodo=lodo)
    if "h200" in names and not args.no_steps:
        rows += validation.llm_step_rows(args.data)
    summary = validation.summary(rows)
    summary["sample"] = {"per_group": per, "cases": len(rows), "sets": names, "refit": bool(args.refit)}
    if args.markdown:
        from costmodel.report.files import write_atomic

        write_atomic(args.markdown, _markdown(summary, rows), suffixes=(".md",), what="report")
    if args.format == "json":
        sys.stdout.write(json.dumps({"schema_version": 1, **summary}, indent=1) + "\n")
        return 0
    _render(summary)
    return 0


def _refit(cases: list) -> dict[str, dict[str, float]]:
    """Leave-one-device-out: refit the global parameters on the training cases of every
    other device (no data of the device enters its fit)."""
    from costmodel.engine import fitting
    from costmodel.hardware import get_profile

    cs = [c for _, c in cases]
    profiles = {d: get_profile(d) for d in {c.m.profile for c in cs}}
    train = [c for c in cs if not c.holdout]
    out = {}
    for d in sorted(profiles):
        rest = [c for c in train if c.m.profile != d]
        if rest:  # with one device loaded there is nothing to predict it from
            out[d] = fitting.fit(rest, profiles, max_iter=10).params
    return out


def _pct(s: dict[str, Any]) -> str:
    return f"{s['median']:.1%}" if s.get("n") else "-"


def _cov(v: float | None) -> str:
    return f"{v:.0%}" if v is not None else "-"


def _render(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from costmodel.report.text import markup

    from .common import console

    con = console()
    for title, key in (("by set", "sets"), ("by device", "devices"), ("by op family", "families")):
        t = Table(title=f"validation {title}: median |pred/meas - 1|", title_justify="left")
        for col in ("", "n", "fitted", "held-out", "LODO", "roofline", "80% band: held-out", "LODO"):
            t.add_column(col, justify="left" if not col else "right")
        for name, b in summary[key].items():
            n = b["fitted"].get("n", 0) + b["heldout"].get("n", 0)
            t.add_row(
                markup(name),
                str(n),
                _pct(b["fitted"]),
                _pct(b["heldout"]),
                _pct(b["lodo"]),
                _pct(b["roofline"]),
                _cov(b["coverage_heldout"]),
                _cov(b["coverage_lodo"]),
            )
        con.print(t)
    cov = summary.get("coverage_lodo_bands") or {}
    if cov:
        con.print(
            "LODO 80% band coverage with bands rebuilt from the other devices only: "
            + ", ".join(f"{markup(d)} {_cov(v)}" for d, v in sorted(cov.items()))
        )
    s = summary["sample"]
    sample = "all rows" if s["per_group"] is None else f"up to {s['per_group']} per group"
    refit = "refitted now" if s["refit"] else "as shipped in device-model.json"
    con.print(f"{s['cases']} cases ({sample}); leave-one-device-out parameters {refit}")


def _md_pct(s: dict[str, Any]) -> str:
    return f"{s['median']:.1%}" if s.get("n") else "-"


def _markdown(summary: dict[str, Any], rows: list) -> str:
    """The validation report (docs/calibration.md)."""
    from costmodel.engine import datasets
    from costmodel.engine.devicemodel import load_model
    from costmodel.report.text import md_cell

    model = load_model()
    s = summary["sample"]
    out = [
        "# Calibration and validation report",
        "",
        "Generated by `costmodel validate"
        + ("" if s["per_group"] == DEFAULT_PER_GROUP else f" --per-group {s['per_group']}")
        + " --markdown docs/calibration.md` from the measured sets the repository ships",
        f"(`benchmarks/data/`), with the device model fitted {model.raw.get('date', '?')} by",
        "`benchmarks/fit_device_model.py` (`hardware_profiles/device-model.json`). Every case goes through the",
        "product: a one-op graph, `analyze_graph`, the calibrated engine.",
        "",
        "- **fitted**: cases the fit saw, predicted with the device's measured refinement (its profile's",
        "  `[calibration]` table) - what `costmodel analyze --hardware <device>` predicts;",
        "- **held-out**: cases of the same devices the fit never saw (other shapes; for Vidur, other models);",
        "- **LODO** (leave one device out): every case of a device predicted by parameters refitted without any",
        "  data of that device, from its datasheet features alone - what a device nobody measured gets;",
        "- **roofline**: the datasheet roofline, the baseline;",
        "- **band**: share of measurements inside the 80% prediction band (held-out with the measured-device",
        "  band; LODO with the unmeasured-device band).",
        "",
        "Figures are medians of |predicted / measured - 1|.",
        "",
        "| set | description | cases | fitted | held-out | LODO | roofline | band held-out | band LODO |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, b in summary["sets"].items():
        desc = (
            datasets.SETS[name].description
            if name in datasets.SETS
            else "whole-model LLM steps on the H200 (every other step of each mode fitted)"
        )
        n = b["fitted"].get("n", 0) + b["heldout"].get("n", 0)
        out.append(
            f"| {md_cell(name)} | {md_cell(desc)} | {n} | {_md_pct(b['fitted'])} | {_md_pct(b['heldout'])} | "
            f"{_md_pct(b['lodo'])} | {_md_pct(b['roofline'])} | {_cov(b['coverage_heldout'])} | {_cov(b['coverage_lodo'])} |"
        )
    for title, key in (("By device", "devices"), ("By op family", "families"), ("By op", "ops")):
        out += [
            "",
            f"## {title}",
            "",
            "| set / group | cases | fitted | held-out | LODO | roofline | band held-out | band LODO |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, b in summary[key].items():
            n = b["fitted"].get("n", 0) + b["heldout"].get("n", 0)
            out.append(
                f"| {md_cell(name)} | {n} | {_md_pct(b['fitted'])} | {_md_pct(b['heldout'])} | {_md_pct(b['lodo'])} | "
                f"{_md_pct(b['roofline'])} | {_cov(b['coverage_heldout'])} | {_cov(b['coverage_lodo'])} |"
            )
    cov = summary.get("coverage_lodo_bands") or {}
    if cov:
        out += [
            "",
            "LODO band coverage with the band quantiles rebuilt from the other devices' residuals only (the",
            "shipped bands were computed from all of them): "
            + ", ".join(f"{md_cell(d)} {_cov(v)}" for d, v in sorted(cov.items()))
            + ".",
        ]
    steps = [r for r in rows if r.set == "h200-steps"]
    if steps:
        out += [
            "",
            "## H200 whole-model steps (the held-out ones were never used by the fit)",
            "",
            "| step | held out | measured | predicted | error | 80% band | LODO | roofline |",
            "|---|---|---:|---:|---:|---|---:|---:|",
        ]
        for r in steps:
            band = f"{r.fitted_band[0] * 1e3:.2f} - {r.fitted_band[1] * 1e3:.2f} ms" if r.fitted_band else "-"
            lodo = f"{r.lodo_s / r.measured_s - 1:+.1%}" if r.lodo_s else "-"
            out.append(
                f"| {md_cell(r.label)} | {'yes' if r.holdout else ''} | {r.measured_s * 1e3:.2f} ms | {r.fitted_s * 1e3:.2f} ms | "
                f"{r.fitted_s / r.measured_s - 1:+.1%} | {band} | {lodo} | {r.roofline_s / r.measured_s - 1:+.1%} |"
            )
    out += [
        "",
        f"{s['cases']} cases; "
        + ("every row" if s["per_group"] is None else f"up to {s['per_group']} per (set, device, op, dtype) group")
        + ".",
    ]
    return "\n".join(out) + "\n"
