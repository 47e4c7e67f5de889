"""`costmodel rerank` as a report Document: calls and tokens per query, FLOPs, QPP/RPP,
the calls by shape, E2R-FLOPs' closed form beside the exact count, latency and cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Column, Document, Field, KeyValues, Notes, Section, Table


def rerank_document(d: Mapping[str, Any]) -> Document:
    f = [
        Field("model", "model", d["model"]),
        Field("strategy", "strategy", d["strategy"]),
        Field("docs", "documents per query", d["docs"], "count"),
        Field("calls_per_query", "calls per query", d["calls_per_query"], "count"),
        Field("prompt_tokens_per_query", "prompt tokens per query", d["prompt_tokens_per_query"], "count"),
        Field("output_tokens_per_query", "generated tokens per query", d["output_tokens_per_query"], "count"),
        Field("flops_per_query", f"FLOPs per query ({d['counting']})", d["flops_per_query"], "count", "FLOP"),
        Field("qpp", "queries per PetaFLOP (QPP)", d["qpp"], "number"),
    ]
    if "rpp" in d:
        f.append(Field("rpp", "metric per PetaFLOP (RPP)", d["rpp"], "number"))
    if "calls_most" in d:
        f.append(Field("calls_fewest", "calls if the retrieved order is right", d["calls_fewest"], "count"))
    if "latency_s" in d:
        f += [
            Field("hardware", "hardware", d["hardware"]),
            Field("latency_s", "latency per query", d["latency_s"], "seconds"),
            Field("queries_per_s", "queries per second", d["queries_per_s"], "number"),
        ]
        if d.get("cost_usd") is not None:
            f.append(Field("cost_usd", "cost per query", d["cost_usd"], "usd"))
    blocks: list[Any] = [KeyValues("rerank", "reranking one query", tuple(f))]
    blocks.append(
        Table(
            "calls",
            "calls by shape",
            (
                Column("count", "calls", "count", 0),
                Column("docs", "documents in the prompt", "count", 1),
                Column("prompt_tokens", "prompt tokens", "count", 0),
                Column("output_tokens", "generated tokens", "count", 0),
                Column("flops", "FLOPs per call (exact)", "count", 0, "FLOP"),
            ),
            tuple((c["count"], c["docs"], c["prompt_tokens"], c["output_tokens"], c["flops"]) for c in d["calls"]),
        )
    )
    e = d.get("e2r")
    if e:
        blocks.append(
            KeyValues(
                "e2r",
                "E2R-FLOPs closed form (Peng et al. 2025)",
                (
                    Field("flops_per_query", "E2R estimate", e["flops_per_query"], "count", "FLOP"),
                    Field(
                        "flops_per_query_gate_counted",
                        "E2R estimate with the gate matrix",
                        e["flops_per_query_gate_counted"],
                        "count",
                        "FLOP",
                    ),
                    Field("exact_over_e2r", "exact count / E2R estimate", e["exact_over_e2r"], "ratio"),
                ),
            )
        )
    notes = (
        "QPP = 1e15 / FLOPs per query; RPP = metric / (FLOPs per query / 1e15) (E2R-FLOPs, Peng et al. 2025).",
        "E2R's closed form counts two MLP matrices (a gated MLP has three) and divides attention scores by "
        "the GQA ratio; the exact count runs the graph (causal attention, LM head where tokens are produced).",
    )
    blocks.append(Notes("notes", "method", notes))
    return Document("costmodel rerank", "rerank", (Section("rerank", tuple(blocks)),), dict(d))
