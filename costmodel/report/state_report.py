"""`costmodel memory`: KV-cache and recurrent-state bytes per sequence against the
context, as one table (and in HTML a log-log chart of the total per model)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model import Chart, Column, Document, Notes, Section, Series, Table


def state_document(rows: Sequence[Any], kv_dtype: str) -> Document:
    t = Table(
        "state_vs_context",
        f"what a sequence keeps between decode steps (KV cache in {kv_dtype})",
        (
            Column("model", "model", "text", 0, elide=True),
            Column("context", "context", "count", 0),
            Column("kv_bytes", "KV cache", "bytes", 0),
            Column("state_bytes", "recurrent state", "bytes", 0),
            Column("total_bytes", "total", "bytes", 0),
        ),
        tuple((r.model, r.context, r.kv_bytes, r.state_bytes, r.total_bytes) for r in rows),
    )
    models = list(dict.fromkeys(r.model for r in rows))
    series = tuple(
        Series(
            m,
            tuple(float(r.context) for r in rows if r.model == m),
            tuple(float(max(r.total_bytes, 1)) for r in rows if r.model == m),
            mode="lines",
        )
        for m in models
    )
    chart = Chart("state_chart", "bytes per sequence vs context", "context (tokens)", "bytes", series, True, True)
    notes = Notes(
        "notes",
        "method",
        (
            "KV cache: 2 x KV heads x head dim per attention layer and position (MLA: its latent); "
            "sliding-window layers keep at most the window.",
            "Recurrent state (fp32 where kernels keep it so): Mamba's SSM state and conv window, RWKV's WKV "
            "state and token shifts, linear attention's K x V per head, the RG-LRU's state and conv window.",
        ),
    )
    data = {
        "schema_version": 1,
        "kv_dtype": kv_dtype,
        "rows": [
            {
                "model": r.model,
                "context": r.context,
                "kv_bytes": r.kv_bytes,
                "state_bytes": r.state_bytes,
                "total_bytes": r.total_bytes,
            }
            for r in rows
        ],
    }
    return Document("costmodel memory", "memory", (Section("memory", (t, chart, notes)),), data, ("state_vs_context",))
