"""The extra analyses of `costmodel llm` (--rate, --capacity, --draft, --spec-heads, --shared-prefix,
--output-lens, --reranker-docs) as key-value blocks and tables with readable labels and
units, instead of their raw keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Column, Field, KeyValues, Table

# extra analyses: key -> (label, kind, unit); unknown keys fall back to _guess
EXTRA_TITLES = {
    "continuous_batching": "continuous batching at the request rate (Poisson arrivals, chunked prefill)",
    "capacity": "the most one replica sustains (continuous batching, steady state)",
    "speculative": "speculative decoding",
    "shared_prefix": "shared-prefix caching",
    "output_distribution": "output-length distribution",
    "reranker": "reranker FLOPs per query (E2R)",
}
EXTRA_FIELDS: dict[str, tuple[str, str, str]] = {
    "stable": ("stable (load below capacity)", "bool", ""),
    "batch": ("requests in flight", "count", ""),
    "tpot_s": ("time per output token (TPOT)", "seconds", ""),
    "ttft_s": ("time to first token (TTFT)", "seconds", ""),
    "throughput_tokens_per_s": ("throughput", "rate", "tokens/s"),
    "prefill_share": ("device time spent in prefill", "percent", ""),
    "reason": ("why", "text", ""),
    "replicas": ("replicas", "count", ""),
    "rate_per_replica": ("requests per second per replica", "number", ""),
    "max_batch": ("most sequences in flight (memory or cap)", "count", ""),
    "ttft_p50_s": ("TTFT p50", "seconds", ""),
    "ttft_p90_s": ("TTFT p90", "seconds", ""),
    "ttft_p99_s": ("TTFT p99", "seconds", ""),
    "tpot_p50_s": ("TPOT p50", "seconds", ""),
    "tpot_p90_s": ("TPOT p90", "seconds", ""),
    "tpot_p99_s": ("TPOT p99", "seconds", ""),
    "slots_used": ("sequences holding KV cache (mean)", "number", ""),
    "percentile": ("SLO percentile", "percent", ""),
    "meets_slo": ("meets the SLOs at that percentile", "bool", ""),
    "replicas_needed": ("replicas needed for the SLOs", "count", ""),
    "devices_needed": ("devices needed for the SLOs", "count", ""),
    "rate": ("requests per second", "number", ""),
    "output_tokens_per_s": ("output tokens per second", "rate", "tokens/s"),
    "total_tokens_per_s": ("prompt + output tokens per second", "rate", "tokens/s"),
    "limit": ("what limits it", "text", ""),
    "devices": ("devices", "count", ""),
    "formula": ("formula", "formula", ""),
    "expected_tokens_per_step": ("tokens per step (expected)", "number", ""),
    "method": ("draft heads", "text", ""),
    "tree": ("candidates per node at each depth", "text", ""),
    "tree_nodes": ("tree nodes verified per step", "count", ""),
    "acceptance": ("acceptance per depth", "text", ""),
    "draft_s": ("draft time per step", "seconds", ""),
    "verify_s": ("verification forward", "seconds", ""),
    "flops_per_token": ("FLOPs per generated token", "count", "FLOP"),
    "baseline_flops_per_token": ("FLOPs per token without speculation", "count", "FLOP"),
    "warning": ("warning", "text", ""),
    "step_s": ("step time (k draft steps + verify)", "seconds", ""),
    "per_token_s": ("time per token", "seconds", ""),
    "baseline_per_token_s": ("time per token without a draft", "seconds", ""),
    "speedup": ("speedup", "ratio", ""),
    "without_cache_s": ("request without prefix cache", "seconds", ""),
    "with_cache_s": ("request with prefix cache", "seconds", ""),
    "prefill_without_s": ("prefill without cache", "seconds", ""),
    "prefill_with_s": ("prefill with cache", "seconds", ""),
    "expected_latency_s": ("expected request latency", "seconds", ""),
    "expected_output_tokens": ("expected output tokens", "number", ""),
    "expected_cost_usd": ("expected cost per request", "usd", ""),
    "expected_flops": ("expected FLOPs per request", "count", "FLOP"),
    "output_tokens_per_query": ("generated tokens per query", "count", ""),
    "flops_per_query": ("FLOPs per query", "count", "FLOP"),
    "queries_per_petaflop": ("queries per PetaFLOP (QPP)", "number", ""),
    "metric_per_petaflop": ("metric per PetaFLOP (RPP)", "number", ""),
}
# dict-valued extras shown as two-column tables: key -> (title, key column, value column)
EXTRA_TABLES = {
    "simulated": (
        "the same load simulated step by step",
        Column("statistic", "statistic", "text", 0),
        Column("value", "value", "number", 0),
    ),
    "p_latency_s": (
        "request latency per output length",
        Column("output_len", "output tokens", "count", 0),
        Column("latency_s", "latency", "seconds", 0),
    ),
    "p_flops": (
        "FLOPs per request per output length",
        Column("output_len", "output tokens", "count", 0),
        Column("flops", "FLOPs", "count", 0, "FLOP"),
    ),
    "weights": (
        "output-length distribution",
        Column("output_len", "output tokens", "count", 0),
        Column("probability", "probability", "percent", 0),
    ),
}


def _guess(key: str, value: Any) -> tuple[str, str, str]:
    label = key.replace("_", " ")
    if isinstance(value, bool):
        return label, "bool", ""
    if key.endswith("_s"):
        return label[:-2], "seconds", ""
    if key.endswith("_bytes"):
        return label[:-6], "bytes", ""
    if "usd" in key:
        return label, "usd", ""
    if isinstance(value, (int, float)):
        return label, "number", ""
    return label, "text", ""


def extras_blocks(extras: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    blocks: list[Any] = []
    for name, d in extras.items():
        fields = []
        tables = []
        for k, v in d.items():
            if isinstance(v, Mapping):
                title, kc, vc = EXTRA_TABLES.get(
                    k, (k.replace("_", " "), Column("key", "key", "text", 0), Column("value", "value", "number", 0))
                )
                tables.append(Table(f"{name}.{k}", title, (kc, vc), tuple((a, b) for a, b in v.items())))
                continue
            label, kind, unit = EXTRA_FIELDS.get(k) or _guess(k, v)
            if k == "reason" and not v:
                continue
            fields.append(Field(k, label, v, kind, unit))
        blocks.append(KeyValues(name, EXTRA_TITLES.get(name, name.replace("_", " ")), tuple(fields)))
        blocks += tables
    return blocks
