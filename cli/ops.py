"""`costmodel ops`: which operators have cost rules, per opset."""

from __future__ import annotations

import argparse
import json
import sys

from .common import Subparsers, add_format, positive_int


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("ops", help="list operator coverage (cost rule / zero-cost / unsupported)")
    p.add_argument("--opset", type=positive_int, default=None, help="default-domain opset (default: latest known)")
    p.add_argument("--domain", default=None, help="only this domain (e.g. com.microsoft)")
    p.add_argument("--missing", action="store_true", help="only list ONNX ops without a rule")
    add_format(p, ("table", "json", "markdown"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.ops.coverage import coverage

    if args.domain is not None:
        from costmodel.errors import CostModelError, did_you_mean
        from costmodel.ops.registry import load_all

        known = sorted({"ai.onnx"} | {d.domain for d in load_all() if d.domain})
        if args.domain not in known:
            raise CostModelError(
                f"unknown domain {args.domain!r}{did_you_mean(args.domain, known)}; known domains: {', '.join(known)}"
            )
    rows, summary = coverage(args.opset, args.domain)
    if args.missing:
        rows = [r for r in rows if r["status"] == "unsupported"]
    if args.format == "json":
        sys.stdout.write(json.dumps({"summary": summary, "ops": rows}, indent=1, allow_nan=False) + "\n")
        return 0
    from costmodel.report.model import Column, Document, Notes, Section, Table

    cols = (
        Column("domain", "domain", "text", 1, elide=True),
        Column("op_type", "op", "text", 0, elide=True),
        Column("status", "status", "text", 0),
        Column("since", "rule since", "count", 2),
        Column("kind", "kind", "text", 2),
        Column("note", "note", "text", 3, elide=True),
    )
    t = Table(
        "ops",
        f"operator coverage (opset {summary['opset']})",
        cols,
        tuple(
            (r["domain"], r["op_type"], r["status"], r["since"] or None, r["kind"] or "", r.get("note", ""))
            for r in rows
        ),
    )
    line = (
        f"{summary['covered']} of {summary['onnx_ops']} default-domain ONNX ops covered "
        f"({summary['rules']} rules, {summary['zero_cost']} declared zero-cost); "
        f"{summary['contrib_rules']} rules in other domains"
    )
    doc = Document("costmodel ops", "ops", (Section("", (t, Notes("summary", "summary", (line,)))),), summary)
    if args.format == "markdown":
        from costmodel.report.render_text import to_markdown

        sys.stdout.write(to_markdown(doc))
        return 0
    from costmodel.report.output import console
    from costmodel.report.render_terminal import render

    render(doc, console())
    return 0
