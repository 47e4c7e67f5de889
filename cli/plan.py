"""`costmodel plan train|serve`: search hardware x parallelism x batch for a goal."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys

from .common import console, positive_float, positive_int


def _ints(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not vals or any(v <= 0 for v in vals):
        raise argparse.ArgumentTypeError(f"{text!r} must list positive integers")
    return vals


def _names(text: str) -> list[str]:
    vals = [x.strip() for x in text.split(",") if x.strip()]
    if not vals:
        raise argparse.ArgumentTypeError("give at least one hardware name")
    return vals


def _prices(items: list[str]) -> dict[str, float]:
    out = {}
    for it in items:
        name, _, v = it.partition("=")
        try:
            out[name.strip().lower()] = float(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--price expects NAME=USD_PER_HOUR, got {it!r}") from None
    return out


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="search configurations: cheapest/fastest training or serving under constraints")
    ps = p.add_subparsers(dest="plan_kind", metavar="{train,serve}")
    t = ps.add_parser("train", help="search parallel layouts for training on N tokens")
    t.add_argument("model")
    t.add_argument("--hardware", "-H", type=_names, required=True, help="comma-separated systems/devices")
    t.add_argument("--gpus", type=_ints, required=True, help="comma-separated GPU counts to consider")
    t.add_argument("--batch", type=positive_int, required=True)
    t.add_argument("--seq-len", type=positive_int, required=True)
    t.add_argument("--tokens", type=positive_float, required=True)
    t.add_argument("--goal", choices=("time", "cost"), default="time")
    t.add_argument("--price", action="append", default=[], metavar="NAME=USD", help="price per device-hour")
    t.add_argument("--top", type=positive_int, default=10)
    t.add_argument("--format", choices=("table", "json"), default="table")
    where = t.add_argument_group("where the candidates are evaluated (default: here)")
    where.add_argument("--jobs", "-j", type=positive_int, help="a local process pool of N workers")
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--cluster", choices=("local",), help="a Dask LocalCluster of --jobs workers for this run")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (it is drawn only on a terminal)")
    s = ps.add_parser("serve", help="search TP x batch x quantization to serve a request rate under SLOs")
    s.add_argument("model")
    s.add_argument("--hardware", "-H", type=_names, required=True)
    s.add_argument("--prompt-len", type=positive_int, required=True)
    s.add_argument("--output-len", type=positive_int, required=True)
    s.add_argument("--rate", type=positive_float, required=True, help="requests per second")
    s.add_argument("--ttft", type=positive_float, default=2.0, help="time-to-first-token SLO, seconds")
    s.add_argument("--tpot", type=positive_float, default=0.05, help="time-per-output-token SLO, seconds")
    s.add_argument("--price", action="append", default=[], metavar="NAME=USD")
    s.add_argument("--top", type=positive_int, default=10)
    s.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def _search_training(args: argparse.Namespace, prices: dict[str, float]) -> list:
    from costmodel.errors import CostModelError
    from costmodel.planners.search import search_training
    from costmodel.report.progress import ProgressBar

    if args.scheduler and args.cluster:
        raise CostModelError("give --scheduler (an existing cluster) or --cluster local, not both")
    executor = None
    if args.scheduler or args.cluster or (args.jobs or 1) > 1:
        from costmodel.parallel import make_executor

        executor = make_executor(args.jobs, args.scheduler, args.cluster)
    bar: ProgressBar | None = None
    if not args.no_progress and sys.stderr.isatty():
        bar = ProgressBar(0, "evaluating", failed_label="")
    try:
        return search_training(
            args.model,
            args.hardware,
            args.gpus,
            args.batch,
            args.seq_len,
            args.tokens,
            goal=args.goal,
            price_per_hour=prices,
            executor=executor,
            on_progress=bar.hook() if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.planners.search import search_serving

    kind = getattr(args, "plan_kind", None)
    if kind is None:
        raise CostModelError("use `costmodel plan train ...` or `costmodel plan serve ...`")
    prices = _prices(args.price)
    if kind == "train":
        cands = _search_training(args, prices)
        unit = "days" if args.goal == "time" else "USD"
    else:
        cands = search_serving(
            args.model,
            args.hardware,
            args.prompt_len,
            args.output_len,
            args.rate,
            args.ttft,
            args.tpot,
            price_per_hour=prices,
        )
        unit = "USD/h" if prices else "devices"
    if args.format == "json":
        sys.stdout.write(
            json.dumps({"evaluated": len(cands), "candidates": [c.to_dict() for c in cands]}, indent=1, default=str)
            + "\n"
        )
        return 0
    from rich.table import Table

    ok = [c for c in cands if c.ok]
    bad = [c for c in cands if not c.ok]
    t = Table(
        title=f"best {min(args.top, len(ok))} of {len(cands)} configurations ({len(bad)} rejected)",
        title_justify="left",
    )
    keys = list(ok[0].label) if ok else (list(bad[0].label) if bad else [])
    for k in keys + ["score (" + unit + ")", "details"]:
        t.add_column(k)
    for c in ok[: args.top]:
        score = c.score / 86400 if kind == "train" and args.goal == "time" else c.score
        det = ", ".join(
            f"{k} {v:.3g}"
            for k, v in c.summary.items()
            if isinstance(v, (int, float)) and not math.isinf(v) and k not in ("days", "usd_per_hour")
        )
        t.add_row(*[str(c.label[k]) for k in keys], f"{score:,.3g}", det)
    console().print(t)
    reasons: dict[str, int] = {}
    for c in bad:
        r = re.sub(r"\d[\d.,]*", "N", c.reason.split(" (")[0])[:70]
        reasons[r] = reasons.get(r, 0) + 1
    if reasons:
        rt = Table(title="why the rejected configurations failed", title_justify="left")
        rt.add_column("reason")
        rt.add_column("count", justify="right")
        for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:12]:
            rt.add_row(r, str(n))
        console().print(rt)
    return 0
