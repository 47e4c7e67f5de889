"""Rendering of LLM serving plans: a summary table, per-layer breakdown, the
throughput-latency sweep (table and optional matplotlib plot)."""

from __future__ import annotations

from typing import Any

from .fmt import nbytes, seconds, si


def _rows(plan: Any) -> list[tuple[str, str]]:
    p = plan
    rows = [
        ("model", p.model),
        ("hardware", f"{p.hardware} x {p.devices} (tp {p.tp}, pp {p.pp})"),
        ("params", f"{p.params:,} ({si(p.params)})"),
        ("active params / token", f"{p.active_params:,} ({si(p.active_params)})"),
        ("batch / prompt / output", f"{p.batch} / {p.prompt_len} / {p.output_len}"),
        ("dtypes (act / weight / kv)", f"{p.dtype} / {p.weight_dtype} / {p.kv_dtype}"),
        (
            "prefill (TTFT)",
            f"{seconds(p.prefill.latency_s)}  ({si(p.prefill.flops, 'FLOP')}, {nbytes(p.prefill.bytes)})",
        ),
        (
            "decode per token",
            f"{seconds(p.decode.latency_s)}  ({si(p.decode.flops, 'FLOP')}, {nbytes(p.decode.bytes)})",
        ),
        ("request", f"{seconds(p.request_latency_s)}"),
        ("throughput", f"{p.tokens_per_s:,.1f} tokens/s (batch), {p.batch / p.decode.latency_s:,.1f} tokens/s decode"),
        (
            "memory / device",
            f"weights {nbytes(p.memory.weights_bytes)} + KV {nbytes(p.memory.kv_cache_bytes)} + "
            f"activations {nbytes(p.memory.activation_bytes)} = {nbytes(p.memory.total_bytes)} "
            f"of {nbytes(p.memory.capacity_bytes)}",
        ),
        ("fits", "yes" if p.fits else "NO"),
        ("largest batch that fits", str(p.max_batch)),
    ]
    c = p.cost()
    if c:
        rows.append(
            (
                "cost",
                f"${c['usd_per_million_input_tokens']:.3f} / M input tokens, "
                f"${c['usd_per_million_output_tokens']:.3f} / M output tokens",
            )
        )
    for n in p.notes:
        rows.append(("note", n))
    return rows


def render_plan(plan: Any, console: Any, sweep: list[Any] | None = None) -> None:
    from rich.table import Table

    t = Table(title=f"LLM serving plan: {plan.model}", show_header=False, title_justify="left")
    t.add_column("", style="bold")
    t.add_column("")
    for k, v in _rows(plan):
        t.add_row(k, v)
    console.print(t)
    lt = Table(title="prefill by segment", title_justify="left")
    for col in ("segment", "x", "time", "FLOPs"):
        lt.add_column(col, justify="left" if col == "segment" else "right")
    for layer in plan.layers:
        lt.add_row(
            layer["segment"], str(layer["repeat"]), seconds(layer["prefill_s"]), si(layer["prefill_flops"], "FLOP")
        )
    console.print(lt)
    if sweep:
        st = Table(title="throughput vs batch", title_justify="left")
        for col in ("batch", "decode / token", "decode tokens/s", "request", "memory", "fits"):
            st.add_column(col, justify="right")
        for s in sweep:
            st.add_row(
                str(s.batch),
                seconds(s.decode.latency_s),
                f"{s.batch / s.decode.latency_s:,.0f}",
                seconds(s.request_latency_s),
                nbytes(s.memory.total_bytes),
                "yes" if s.fits else "no",
            )
        console.print(st)


def to_markdown(plan: Any, sweep: list[Any] | None = None) -> str:
    out = [f"# LLM serving plan: {plan.model}", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in _rows(plan)]
    if sweep:
        out += ["", "| batch | decode / token | tokens/s | request | fits |", "|---:|---:|---:|---:|---|"]
        out += [
            f"| {s.batch} | {seconds(s.decode.latency_s)} | {s.batch / s.decode.latency_s:,.0f} | "
            f"{seconds(s.request_latency_s)} | {'yes' if s.fits else 'no'} |"
            for s in sweep
        ]
    return "\n".join(out) + "\n"


def plot_sweep(sweep: list[Any], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from ..errors import CostModelError

        raise CostModelError("--plot needs matplotlib (pip install 'costmodel[plot]')") from None
    b = [s.batch for s in sweep]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(b, [s.decode.latency_s * 1e3 for s in sweep], "o-", label="decode latency / token (ms)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch")
    ax.set_ylabel("ms per token")
    ax2 = ax.twinx()
    ax2.plot(b, [s.batch / s.decode.latency_s for s in sweep], "s--", color="C1", label="tokens/s")
    ax2.set_ylabel("decode tokens/s")
    ax.set_title(f"{sweep[0].model} on {sweep[0].hardware}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def render_extras(extras: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    for name, d in extras.items():
        t = Table(title=name.replace("_", " "), show_header=False, title_justify="left")
        t.add_column("", style="bold")
        t.add_column("")
        for k, v in d.items():
            if isinstance(v, dict):
                v = ", ".join(f"{a}: {seconds(b) if isinstance(b, float) else b}" for a, b in v.items())
            elif isinstance(v, float):
                v = seconds(v) if k.endswith("_s") else f"{v:,.4g}"
            t.add_row(k, str(v))
        console.print(t)
