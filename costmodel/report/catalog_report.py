"""Listings as report Documents: hardware profiles (`hardware list|show`), built-in model
specs (`specs [NAME]`) and `batch` summaries. Tables fit 80 columns like every other
report: low-priority columns drop, names are shortened in the middle, nothing wraps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, fields, is_dataclass
from typing import Any

from .model import Column, Document, Field, KeyValues, Section, Table


def hardware_list(profiles: Sequence[Any], systems: Sequence[Any] = ()) -> Document:
    cols = (
        Column("name", "name", "text", 0, elide=True),
        Column("device", "device", "text", 4, elide=True),
        Column("bf16", "bf16", "rate", 0, "FLOP/s"),
        Column("fp16", "fp16", "rate", 5, "FLOP/s"),
        Column("fp32", "fp32", "rate", 2, "FLOP/s"),
        Column("fp8", "fp8", "rate", 3, "FLOP/s"),
        Column("memory", "memory", "bytes", 1),
        Column("bandwidth", "bandwidth", "rate", 1, "B/s"),
        Column("aliases", "aliases", "text", 6, elide=True),
        Column("calibrated", "calibrated", "bool", 4),
    )
    rows = tuple(
        (
            p.name,
            p.display_name,
            p.peak_flops.get("bf16"),
            p.peak_flops.get("fp16"),
            p.peak_flops.get("fp32"),
            p.peak_flops.get("fp8"),
            p.memory_capacity,
            p.memory_bandwidth,
            ", ".join(p.aliases),
            p.calibration is not None,
        )
        for p in profiles
    )
    t = Table("profiles", "hardware profiles (dense peaks)", cols, rows)
    blocks: tuple[Table, ...] = (t,)
    if systems:
        scols = (
            Column("name", "name", "text", 0, elide=True),
            Column("device", "device", "text", 1, elide=True),
            Column("devices_per_node", "per node", "count", 0),
            Column("intra_node_bandwidth", "scale-up", "rate", 0, "B/s"),
            Column("inter_node_bandwidth", "scale-out", "rate", 0, "B/s"),
        )
        srows = tuple(
            (s.name, s.device.name, s.devices_per_node, s.intra.bandwidth, s.inter.bandwidth) for s in systems
        )
        blocks += (Table("systems", "systems (per-device link bandwidth; `hardware show NAME`)", scols, srows),)
    data = {"profiles": [p.to_dict() for p in profiles], "systems": [s.to_dict() for s in systems]}
    return Document("hardware profiles", "hardware", (Section("", blocks),), data)


def hardware_show(p: Any) -> Document:
    f = [Field("name", "name", p.name), Field("device", "device", p.display_name), Field("vendor", "vendor", p.vendor)]
    for dt, v in p.matrix_flops.items():
        f.append(Field(f"matrix_{dt}", f"matrix {dt}", v, "rate", "FLOP/s"))
    for dt, v in p.vector_flops.items():
        f.append(Field(f"vector_{dt}", f"vector {dt}", v, "rate", "FLOP/s"))
    f += [
        Field("memory_capacity", "memory", p.memory_capacity, "bytes"),
        Field("memory_bandwidth", "bandwidth", p.memory_bandwidth, "rate", "B/s"),
    ]
    if p.l2_bytes:
        f.append(Field("l2_bytes", "L2", p.l2_bytes, "bytes"))
    if p.compute_units:
        f.append(Field("compute_units", "compute units", f"{p.compute_units} {p.compute_unit_name}".strip()))
    if p.interconnect:
        f.append(
            Field(
                "interconnect",
                f"interconnect ({p.interconnect.name}, per direction)",
                p.interconnect.bandwidth,
                "rate",
                "B/s",
            )
        )
    if p.tdp_watts:
        f.append(Field("tdp_watts", "TDP", p.tdp_watts, "number", "W"))
    if p.price_per_hour:
        f.append(Field("price_per_hour", "price / hour", p.price_per_hour, "usd"))
    if p.aliases:
        f.append(Field("aliases", "aliases", ", ".join(p.aliases)))
    f.append(Field("calibrated", "calibrated", p.calibration is not None, "bool"))
    kv = KeyValues("profile", "", tuple(f))
    return Document(f"{p.display_name} ({p.name})", "hardware", (Section("", (kv,)),), p.to_dict())


def system_show(s: Any) -> Document:
    """A system (a node of devices and its network tiers): per-node totals with the
    per-device figures beside them, then each tier."""
    dev, n = s.device, s.devices_per_node
    f = [
        Field("name", "name", s.name),
        Field("display_name", "system", s.display_name),
        Field("device", "device", f"{n} x {dev.display_name} ({dev.name})"),
        Field("devices_per_node", "devices per node", n, "count"),
    ]
    for dt in ("bf16", "fp8", "fp32"):
        if dev.peak_flops.get(dt):
            f.append(Field(f"peak_flops_{dt}_per_node", f"{dt} per node", n * dev.peak_flops[dt], "rate", "FLOP/s"))
            f.append(Field(f"peak_flops_{dt}", f"{dt} per device", dev.peak_flops[dt], "rate", "FLOP/s"))
    f += [
        Field("memory_capacity_per_node", "memory per node", n * dev.memory_capacity, "bytes"),
        Field("memory_capacity", "memory per device", dev.memory_capacity, "bytes"),
        Field("memory_bandwidth", "memory bandwidth per device", dev.memory_bandwidth, "rate", "B/s"),
    ]
    tiers = []
    for key, label, tier in (
        ("intra_node", "scale-up (in node)", s.intra),
        ("inter_node", "scale-out (between nodes)", s.inter),
    ):
        tiers.append(
            KeyValues(
                key,
                f"{label}: {tier.name}",
                (
                    Field(f"{key}_bandwidth", "bandwidth per device per direction", tier.bandwidth, "rate", "B/s"),
                    Field(f"{key}_latency_s", "latency per step", tier.latency_s, "seconds"),
                    Field(f"{key}_efficiency", "achievable fraction", tier.efficiency, "percent"),
                ),
            )
        )
    kv = KeyValues("system", "", tuple(f))
    return Document(f"{s.display_name} ({s.name})", "hardware", (Section("", (kv, *tiers)),), s.to_dict())


def specs_list(rows: Sequence[Mapping[str, Any]]) -> Document:
    cols = (
        Column("name", "name", "text", 0, elide=True),
        Column("architecture", "architecture", "text", 1),
        Column("params", "params", "count", 0),
        Column("source", "source", "text", 3, elide=True),
    )
    t = Table(
        "specs",
        "built-in model specs",
        cols,
        tuple((r["name"], r["architecture"], r["params"], r["source"]) for r in rows),
    )
    return Document("built-in model specs", "specs", (Section("", (t,)),), {"specs": list(rows)})


# spec fields shown first, with labels; the rest are shown when they differ from the default
_SPEC_MAIN = {
    "architecture": "architecture",
    "num_layers": "layers",
    "hidden_size": "hidden size",
    "num_heads": "attention heads",
    "num_kv_heads": "KV heads",
    "head_dim": "head dim",
    "intermediate_size": "MLP width",
    "mlp": "MLP",
    "activation": "activation",
    "norm": "norm",
    "position": "positions",
    "max_position": "max positions",
    "vocab_size": "vocabulary",
    "tie_embeddings": "tied embeddings",
    "sliding_window": "sliding window",
}


_TRANSFORMER_ONLY = ("mlp", "norm", "position")


def _flat(prefix: str, v: Any) -> list[tuple[str, Any]]:
    """Nested settings (moe, mla, ssm) as dotted keys, leaving out their defaults."""
    if is_dataclass(v) and not isinstance(v, type):
        out = []
        for f in fields(v):
            x = getattr(v, f.name)
            if f.default is not MISSING and f.default == x:
                continue
            out += _flat(f"{prefix}.{f.name}", x)
        return out
    return [(prefix, v)]


def spec_show(spec: Any, params: int | None) -> Document:
    defaults = {f.name: f.default for f in fields(spec) if f.default is not MISSING}  # differs from these
    f = [Field("name", "name", spec.name)]
    if params is not None:
        f.append(Field("params", "params", params, "count"))
    convolutional = getattr(spec, "cnn", None) is not None or getattr(spec, "unet", None) is not None
    for k, label in _SPEC_MAIN.items():
        v = getattr(spec, k, None)
        if v in (None, 0, "", ()) and k not in ("num_layers",):
            continue
        if convolutional and k in _TRANSFORMER_ONLY:
            continue  # the block decides (cnn / unet); these transformer settings are unused
        kind = "bool" if isinstance(v, bool) else ("count" if isinstance(v, int) else "text")
        f.append(Field(k, label, v, kind))
    rest = []
    for fld in fields(spec):
        k = fld.name
        if k in _SPEC_MAIN or k in ("name", "source", "notes"):
            continue
        v = getattr(spec, k)
        if v is None:
            continue
        if k in defaults and defaults[k] == v:
            continue
        if isinstance(v, (list, tuple)) and not v:
            continue
        for key, val in _flat(k, v):
            kind = "bool" if isinstance(val, bool) else ("count" if isinstance(val, int) else "text")
            rest.append(
                Field(
                    key,
                    key.replace("_", " "),
                    val if not isinstance(val, (list, tuple)) else ", ".join(map(str, val)),
                    kind,
                )
            )
    blocks: list[Any] = [KeyValues("spec", "", tuple(f))]
    if rest:
        blocks.append(KeyValues("details", "other settings (not the defaults)", tuple(rest)))
    src = [Field("source", "source", spec.source)] if getattr(spec, "source", "") else []
    if getattr(spec, "notes", ""):
        src.append(Field("notes", "notes", spec.notes))
    if src:
        blocks.append(KeyValues("source", "", tuple(src)))
    return Document(f"model spec: {spec.name}", "specs", (Section("", tuple(blocks)),), asdict(spec))


def config_show(
    values: Mapping[str, Any], origin: Mapping[str, str], searched: Sequence[tuple[str, bool]], data: Mapping[str, Any]
) -> Document:
    """`costmodel config show`: each configured default and the file it came from, then
    the files searched in the order they apply (`searched`: (file, read))."""
    blocks: list[Any] = []
    if values:
        cols = (
            Column("key", "key", "text", 0),
            Column("value", "value", "text", 0, elide=True),
            Column("from", "from", "text", 1, elide=True),
        )
        rows = []
        for k, v in values.items():
            text = ", ".join(f"{n} = {p:g} USD/h" for n, p in v.items()) if isinstance(v, Mapping) else str(v)
            rows.append((k, text, origin.get(k, "")))
        blocks.append(Table("values", "configured defaults (flags on the command line win)", cols, tuple(rows)))
    files = Table(
        "files",
        "files searched (later ones win)"
        if values
        else "no configuration: built-in defaults apply. Files searched (later ones win)",
        (Column("read", "read", "bool", 0), Column("file", "file", "text", 0, elide=True)),
        tuple((read, f) for f, read in searched),
    )
    blocks.append(files)
    return Document("costmodel configuration", "config", (Section("", tuple(blocks)),), data)


def batch_table(rows: Sequence[Mapping[str, Any]]) -> Document:
    import os

    cols = (
        Column("model", "model", "text", 0, elide=True),
        Column("nodes", "nodes", "count", 4),
        Column("flops", "FLOPs", "count", 0),
        Column("macs", "MACs", "count", 5),
        Column("params", "params", "count", 2),
        Column("bytes_read", "bytes read", "bytes", 3),
        Column("latency_s", "latency", "seconds", 1),
        Column("status", "status", "text", 0, elide=True),
    )
    out = []
    for r in rows:
        name = os.path.basename(r["model"]) or r["model"]
        if not r.get("ok"):
            out.append((name, None, None, None, None, None, None, f"{r.get('error_type')}: {r.get('error')}"))
            continue
        status = "ok" if not r["unsupported"] else f"{r['unsupported']} unsupported"
        out.append((name, r["nodes"], r["flops"], r["macs"], r["params"], r["bytes_read"], r.get("latency_s"), status))
    failed = sum(1 for r in rows if not r.get("ok"))
    t = Table("models", f"{len(rows)} models" + (f", {failed} failed" if failed else ""), cols, tuple(out))
    return Document("costmodel batch", "batch", (Section("", (t,)),), {"models": list(rows)})
