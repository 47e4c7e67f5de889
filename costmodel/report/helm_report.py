"""`costmodel llm MODEL --helm`: HELM's idealized-runtime table for one model. The JSON is
HELM's own structure (inference_idealized_runtimes.json: model name -> runtime per output
token and runtime per prompt size), so HELM's efficiency metric loads it as it loads its
own file; the cost-aware (accelerator-seconds) variant and the setup ride along under
keys HELM's reader ignores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Column, Document, Field, KeyValues, Notes, Section, Table


def helm_document(name: str, entry: Mapping[str, Any], setup: str) -> Document:
    prompts = entry["runtime_for_prompt_tokens"]
    acc = entry["accelerator_seconds_for_prompt_tokens"]
    kv = KeyValues(
        "helm",
        f"HELM idealized runtime: {name}",
        (
            Field("runtime_per_output_token", "per output token (g)", entry["runtime_per_output_token"], "seconds"),
            Field(
                "accelerator_seconds_per_output_token",
                "accelerator-seconds per output token",
                entry["accelerator_seconds_per_output_token"],
                "number",
                "s",
            ),
            Field("num_accelerators", "accelerators", entry["num_accelerators"], "count"),
            Field("accelerator", "accelerator", entry["accelerator"]),
            Field("precision", "precision", entry["precision"]),
            Field("setup", "setup", setup),
        ),
    )
    t = Table(
        "runtime_for_prompt_tokens",
        "runtime for a prompt of p tokens, R(p)",
        (
            Column("prompt_tokens", "prompt tokens", "count", 0),
            Column("runtime_s", "runtime", "seconds", 0),
            Column("accelerator_s", "accelerator-seconds", "number", 1, "s"),
        ),
        tuple((int(p), r, acc[p]) for p, r in prompts.items()),
    )
    notes = Notes(
        "notes",
        "method",
        (
            "runtime(p, o) = R(p) + g (o - 1) (Liang et al. 2022; Narayanan et al. 2023); accelerator-seconds "
            "multiply by the accelerators serving the model.",
            "JSON output is HELM's inference_idealized_runtimes.json structure, keyed by the model's name.",
        ),
    )
    data = {name: dict(entry, setup=setup)}
    return Document(f"HELM idealized runtime: {name}", "helm", (Section("helm", (kv, t, notes)),), data)
