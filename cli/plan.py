"""`costmodel plan train|serve`: search hardware x parallelism x batch for a goal."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (
    MAX_DEVICES,
    Subparsers,
    add_report_output,
    add_runtime_option,
    add_spec_limits,
    batch_size,
    devices,
    emit,
    percentile,
    positive_int,
    price,
    rate,
    report_format,
    runtime_option,
    slo_seconds,
    tokens,
    train_tokens,
    workers,
)


def _ints(text: str) -> list[int]:
    try:
        vals = [devices(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not vals or any(not 0 < v <= MAX_DEVICES for v in vals):
        raise argparse.ArgumentTypeError(f"{text!r} must list integers from 1 to {MAX_DEVICES:,}")
    return vals


def _names(text: str) -> list[str]:
    vals = [x.strip() for x in text.split(",") if x.strip()]
    if not vals:
        raise argparse.ArgumentTypeError("give at least one hardware name")
    return vals


def _price(text: str) -> tuple[str, float]:
    """--price NAME=USD_PER_HOUR: a positive finite price, at most MAX_PRICE."""
    name, eq, v = text.partition("=")
    name = name.strip().lower()
    if not eq or not name or not v.strip():
        raise argparse.ArgumentTypeError(f"expects NAME=USD_PER_HOUR (e.g. h100=2.5), got {text!r}")
    try:
        return name, price(v.strip())
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{name}: {e}") from None


def _prices(items: list[tuple[str, float]]) -> dict[str, float]:
    from costmodel.errors import CostModelError

    out: dict[str, float] = {}
    for name, v in items:
        if name in out and out[name] != v:
            raise CostModelError(f"--price {name} given twice with different values")
        out[name] = v
    return out


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("plan", help="search configurations: cheapest/fastest training or serving under constraints")
    ps = p.add_subparsers(dest="plan_kind", metavar="{train,serve}")
    t = ps.add_parser("train", help="search parallel layouts for training on N tokens")
    t.add_argument("model")
    t.add_argument("--hardware", "-H", type=_names, required=True, help="comma-separated systems/devices")
    t.add_argument("--gpus", type=_ints, required=True, help="comma-separated GPU counts to consider")
    t.add_argument("--batch", type=batch_size, required=True)
    t.add_argument("--seq-len", type=tokens, required=True)
    t.add_argument("--tokens", type=train_tokens, required=True, help="tokens to train on (e.g. 2e12)")
    t.add_argument("--goal", choices=("time", "cost"), default="time")
    t.add_argument(
        "--price", action="append", type=_price, default=[], metavar="NAME=USD", help="price per device-hour"
    )
    t.add_argument(
        "--precision",
        choices=(
            "bf16-mixed",
            "bf16-mixed-bf16-grads",
            "bf16-autocast",
            "fp16-mixed",
            "fp8",
            "fp8-fp8-allgather",
            "fp32",
        ),
        default=None,
        help="precision recipe (default bf16-mixed; bf16-autocast, PyTorch AMP, with --runtime pytorch)",
    )
    t.add_argument(
        "--optimizer",
        choices=("adamw", "adam", "sgd", "sgd-momentum", "adafactor", "adam8bit", "lion"),
        default="adamw",
    )
    t.add_argument("--execution", choices=("eager", "graph"), default="eager")
    t.add_argument("--top", type=positive_int, default=10, help="configurations shown (every format)")
    add_runtime_option(t)
    add_report_output(t)
    add_spec_limits(t)
    where = t.add_argument_group("where the candidates are evaluated (default: here)")
    where.add_argument("--jobs", "-j", type=workers, help="a local process pool of N workers")
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--cluster", choices=("local",), help="a Dask LocalCluster of --jobs workers for this run")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (it is drawn only on a terminal)")
    s = ps.add_parser(
        "serve",
        help="search replicas x TP x batch cap x quantization to serve a request rate under SLOs",
        description="The fewest devices (or dollars) whose replicas serve Poisson arrivals at --rate "
        "within the TTFT / TPOT SLOs at a percentile, judged by the continuous-batching load model "
        "of `costmodel llm --rate` (chunked prefill mixed with decode).",
    )
    s.add_argument("model")
    s.add_argument("--hardware", "-H", type=_names, required=True)
    s.add_argument(
        "--prompt-len",
        required=True,
        metavar="LENS",
        help="prompt tokens: 1024, or a distribution 256,1024 / 256:0.7,4096:0.3 (LEN:WEIGHT)",
    )
    s.add_argument("--output-len", required=True, metavar="LENS", help="output tokens, as --prompt-len")
    s.add_argument("--rate", type=rate, required=True, help="requests per second")
    s.add_argument("--ttft", type=slo_seconds, default=2.0, help="time-to-first-token SLO, seconds")
    s.add_argument("--tpot", type=slo_seconds, default=0.05, help="time-per-output-token SLO, seconds")
    s.add_argument(
        "--percentile",
        type=percentile,
        default=99.0,
        help="the SLOs hold at this percentile of requests (default 99, as MLPerf's server scenario)",
    )
    s.add_argument("--goal", choices=("devices", "cost"), default="devices")
    s.add_argument(
        "--price", action="append", type=_price, default=[], metavar="NAME=USD", help="price per device-hour"
    )
    s.add_argument("--tp", type=_ints, default=[1, 2, 4, 8], help="tensor-parallel sizes (default 1,2,4,8)")
    s.add_argument("--weights", type=_names, default=["bf16", "fp8", "int4"], help="weight dtypes to try")
    s.add_argument(
        "--batch-caps",
        type=_ints,
        default=None,
        help="largest batches a replica may run (default 16,...,512 and what memory holds)",
    )
    s.add_argument("--max-devices", type=devices, default=512, help="most devices to consider (default 512)")
    s.add_argument("--allow-past-context", action="store_true", help="plan lengths past the model's context")
    s.add_argument("--top", type=positive_int, default=10)
    add_runtime_option(s)
    add_report_output(s)
    add_spec_limits(s)
    p.set_defaults(run=run)


def _search_training(args: argparse.Namespace, prices: dict[str, float]) -> Any:
    """search_training here, in a process pool (--jobs) or on Dask (--scheduler, --cluster),
    with a progress bar on a terminal."""
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
            precision=args.precision,
            optimizer=args.optimizer,
            dispatch=args.execution,
            executor=executor,
            on_progress=bar.hook() if bar is not None else None,
            runtime=runtime_option(args),
        )
    finally:
        if bar is not None:
            bar.close()


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.report.train_report import plan_document

    kind = getattr(args, "plan_kind", None)
    if kind is None:
        raise CostModelError("use `costmodel plan train ...` or `costmodel plan serve ...`")
    prices = _prices(args.price)
    fmt = report_format(args)
    if kind == "train":
        res = _search_training(args, prices)
        # the HTML report's Pareto chart draws more than the table's top rows
        keep = max(args.top, 500) if fmt == "html" else args.top
        doc = plan_document(
            kind,
            res.candidates[:keep] + res.rejected_examples,
            args.top,
            args.goal,
            charts=fmt == "html",
            evaluated=res.evaluated,
            rejected=res.rejected,
        )
        emit(doc, args, fmt)
        return 0
    return _serve(args, prices, fmt)


def _serve(args: argparse.Namespace, prices: dict[str, float], fmt: str) -> int:
    from costmodel.errors import CostModelError
    from costmodel.planners.search_serving import DEFAULT_CAPS, search_serving
    from costmodel.planners.serving_lengths import Lengths
    from costmodel.planners.serving_load import Load
    from costmodel.report.serve_report import plan_serve_document

    if not 50 <= args.percentile < 100:
        raise CostModelError(f"--percentile must be in [50, 100), got {args.percentile:g}")
    prompt = Lengths.parse(args.prompt_len, "--prompt-len")
    output = Lengths.parse(args.output_len, "--output-len")
    weights = tuple(None if w.lower() in ("bf16", "none") else w.lower() for w in args.weights)
    search = search_serving(
        args.model,
        args.hardware,
        prompt,
        output,
        args.rate,
        args.ttft,
        args.tpot,
        price_per_hour=prices,
        goal=args.goal,
        percentile=args.percentile / 100,
        tps=tuple(args.tp),
        weight_dtypes=weights,
        caps=tuple(args.batch_caps) if args.batch_caps else DEFAULT_CAPS,
        max_devices=args.max_devices,
        allow_past_context=args.allow_past_context,
        runtime=runtime_option(args),
    )
    load = Load(args.rate, prompt, output, args.percentile / 100)
    doc = plan_serve_document(search, load, args.top, args.goal, charts=fmt == "html")
    emit(doc, args, fmt)
    return 0
