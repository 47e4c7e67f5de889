"""`costmodel ops`: which operators have cost rules, per opset."""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_format, console, positive_int


def add_parser(sub) -> None:
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
        sys.stdout.write(json.dumps({"summary": summary, "ops": rows}, indent=1) + "\n")
        return 0
    if args.format == "markdown":
        out = ["| domain | op | status | since | kind |", "|---|---|---|---:|---|"]
        out += [
            f"| {r['domain']} | {r['op_type']} | {r['status']} | {r['since'] or ''} | {r['kind'] or ''} |" for r in rows
        ]
        sys.stdout.write("\n".join(out) + "\n\n" + json.dumps(summary) + "\n")
        return 0
    from rich.table import Table

    t = Table(title=f"operator coverage (opset {summary['opset']})", title_justify="left")
    for c in ("domain", "op", "status", "rule since", "kind", "note"):
        t.add_column(c)
    for r in rows:
        style = {"rule": "green", "zero-cost": "cyan", "unsupported": "red"}[r["status"]]
        t.add_row(
            r["domain"],
            r["op_type"],
            f"[{style}]{r['status']}[/]",
            str(r["since"] or ""),
            r["kind"] or "",
            r.get("note", ""),
        )
    c = console()
    c.print(t)
    c.print(
        f"{summary['covered']} of {summary['onnx_ops']} default-domain ONNX ops covered "
        f"({summary['rules']} rules, {summary['zero_cost']} declared zero-cost); "
        f"{summary['contrib_rules']} rules in other domains"
    )
    return 0
