"""`costmodel scale` as a report Document: the budget, the compute-optimal (or given)
model and tokens, its compute, and the run on a cluster when one is given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Document, Field, KeyValues, Notes, Section, integral


def scale_document(d: Mapping[str, Any]) -> Document:
    data = dict(d)
    for k in ("flops", "flops_6nd", "flops_exact"):
        data[k] = integral(data[k])
    budget = d.get("budget") or {}
    head = [
        Field("mode", "question", "compute-optimal N, D for a budget" if d["mode"] == "budget" else "a given run"),
        Field("flops", "training compute", data["flops"], "count", "FLOP"),
    ]
    if "gpu_hours" in budget:
        head.append(Field("gpu_hours", "budget in device-hours", budget["gpu_hours"], "number"))
        head.append(Field("mfu", "MFU the budget is spent at", budget["mfu"], "percent"))
    if "usd" in budget:
        head.append(Field("usd", "budget", budget["usd"], "usd"))
    head += [
        Field("params", "parameters N", d["params"], "count"),
        Field("tokens", "tokens D", d["tokens"], "count"),
        Field("tokens_per_param", "compute-optimal D / N", d["tokens_per_param"], "number"),
        Field("optimal_tokens", "compute-optimal D for this N", d["optimal_tokens"], "count"),
        Field("flops_6nd", "6 N D", data["flops_6nd"], "count", "FLOP"),
        Field("flops_exact", "exact forward + backward FLOPs (graph)", data["flops_exact"], "count", "FLOP"),
        Field("loss", "Chinchilla parametric loss L(N, D)", d["loss"], "number", "nats/token"),
    ]
    m = d["model"]
    model = [
        Field("name", "model", m["name"]),
        Field("layers", "layers", m["layers"], "count"),
        Field("hidden_size", "width", m["hidden_size"], "count"),
        Field("heads", "heads", m["heads"], "count"),
        Field("model_params", "parameters (exact)", m["params"], "count"),
    ]
    blocks: list[Any] = [
        KeyValues("scale", "compute-optimal training" if d["mode"] == "budget" else "training compute", tuple(head)),
        KeyValues("model", "the model the compute is counted on", tuple(model)),
    ]
    cl = d.get("cluster")
    if cl:
        blocks.append(
            KeyValues(
                "cluster",
                "time to train (training planner)",
                (
                    Field("hardware", "system", cl["hardware"]),
                    Field("gpus", "devices", cl["gpus"], "count"),
                    Field(
                        "layout",
                        "layout",
                        f"tp {cl['tp']} x pp {cl['pp']} x dp {cl['dp']}, {cl['recompute']} recompute",
                    ),
                    Field("mfu", "MFU", cl["mfu"], "percent"),
                    Field("step_s", "step time", cl["step_s"], "seconds"),
                    Field("days", "days to train", d["days"], "number", "days"),
                    Field("gpu_hours", "device-hours", cl["gpu_hours"], "number"),
                    *([Field("cost_usd", "cost", cl["cost_usd"], "usd")] if cl.get("cost_usd") else []),
                ),
            )
        )
    notes = [
        "C = 6 N D (Kaplan et al. 2020, sec. 2.1); compute-optimal D = k N with k ~ 20 "
        "(Hoffmann et al. 2022, Approaches 1-2), so N = sqrt(C / 6k).",
        "The loss is Hoffmann et al.'s Approach-3 fit on MassiveText: a guide to the trade-off only.",
    ]
    if m.get("synthesized"):
        notes.append(
            "Exact FLOPs and days are counted on a decoder of Chinchilla's proportions "
            "(width ~ 100 x depth, 128-wide heads, 4x MLP, 32k vocabulary) of about N parameters."
        )
    blocks.append(Notes("notes", "method", tuple(notes)))
    return Document("costmodel scale", "scale", (Section("scale", tuple(blocks)),), data)
