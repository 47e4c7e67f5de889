"""Measured kernel timings: one canonical record, the readers for the layouts in use, and
the validation every number goes through.

The canonical format (what `costmodel calibrate` writes on a local GPU and what
`costmodel calibrate --from` reads) is a CSV file with the columns

    op,shape,dtype,time_s,device,profile,source,timing,conditions

    matmul,batch=1 m=4096 n=4096 k=4096,bf16,0.000151,NVIDIA H100 80GB HBM3,h100-sxm5-80gb,my-lab,eager,matmul_tf32=off

or the same rows as JSON: {"format": "costmodel-measurements", "version": 1, "rows": [{"op":
..., "shape": {"batch": 1, ...}, ..., "conditions": {...}}]}. `shape` holds the op's
dimensions (OP_SHAPES), `time_s` seconds, `timing` how the time was taken:

- eager: CUDA events around one framework call (the host's dispatch is inside the time),
- kernel: the GPU time of the op's kernels only (a profiler trace),
- graph: one replay of a CUDA graph holding the op.

`conditions` are `key=value` run conditions (matmul_tf32=off, conv_tf32=on, layout=nhwc,
torch=2.1.0, run_spread=0.01, ...). Also read, and converted row by row: NeuSight's
operator CSVs (`OPName,Latency,Device,...`), Vidur's per-layer `mlp.csv` profiles
(`time_stats.<op>.median`, ...) and the costmodel/measure_gpu JSON layout
(`{"device": ..., "method": ..., "cases": [...]}`). Files may be gzip-compressed (.gz).
Every problem is a MeasurementError naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import MeasurementError
from .measurement_layouts import _fail, _gpu_json, _neusight, _vidur
from .measurement_record import (
    CANONICAL_COLUMNS,
    DTYPES,
    FAMILY,
    MAX_DECOMPRESSED,
    MAX_ROWS,
    OP_SHAPES,
    TIMINGS,
    Measurement,
    _pairs,
    _RowError,
    device_profile,
    make,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "DTYPES",
    "FAMILY",
    "OP_SHAPES",
    "TIMINGS",
    "Measurement",
    "device_profile",
    "make",
    "measurements_to_csv",
    "read_measurements",
]


# Readers
# ---------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read(MAX_DECOMPRESSED + 1)
        else:
            with open(path, "rb") as f:
                raw = f.read(MAX_DECOMPRESSED + 1)
    except FileNotFoundError:
        raise MeasurementError("no such measurement file", where=str(path)) from None
    except IsADirectoryError:
        raise MeasurementError("is a directory, not a measurement file", where=str(path)) from None
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise MeasurementError(f"cannot read: {getattr(e, 'strerror', None) or e}", where=str(path)) from None
    if len(raw) > MAX_DECOMPRESSED:
        raise MeasurementError(f"larger than {MAX_DECOMPRESSED} bytes of text", where=str(path))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise MeasurementError(f"not valid UTF-8 text (byte {e.start})", where=str(path)) from None


def _csv_rows(text: str, path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise MeasurementError("empty file", where=str(path)) from None
    except csv.Error as e:
        raise MeasurementError(f"invalid CSV: {e}", where=str(path)) from None
    header = [h.strip() for h in header]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        line = 1
        try:
            for line, rec in enumerate(reader, start=2):
                if not rec or all(not x.strip() for x in rec):
                    continue
                if len(rec) != len(header):
                    raise MeasurementError(
                        f"row {line}: {len(rec)} columns where the header has {len(header)}", where=str(path)
                    )
                if line > MAX_ROWS:
                    raise MeasurementError(f"more than {MAX_ROWS} rows", where=str(path))
                yield line, dict(zip(header, rec))
        except csv.Error as e:
            raise MeasurementError(f"row {line}: invalid CSV: {e}", where=str(path)) from None

    return header, rows()


def _canonical_csv(path: Path, rows: Iterator[tuple[int, dict[str, str]]]) -> list[Measurement]:
    out = []
    for line, r in rows:
        try:
            shape = dict(_pairs(r["shape"], "shape"))
            out.append(
                make(
                    r["op"],
                    shape,
                    r["dtype"],
                    r["time_s"],
                    r["device"],
                    r["profile"],
                    r["source"],
                    r["timing"],
                    _pairs(r["conditions"], "conditions"),
                    f"{path.name}:{line}",
                )
            )
        except _RowError as e:
            raise _fail(path, line, e) from None
    return out


def _canonical_json(path: Path, data: Mapping[str, Any]) -> list[Measurement]:
    rows = data.get("rows")
    if not isinstance(rows, list):
        raise MeasurementError("'rows' must be a list", where=str(path))
    out = []
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping):
            raise MeasurementError(f"rows[{i}] must be an object", where=str(path))
        try:
            shape, cond = r.get("shape", {}), r.get("conditions", {})
            if not isinstance(shape, Mapping) or not isinstance(cond, Mapping):
                raise _RowError("shape", "shape and conditions must be objects")
            out.append(
                make(
                    r.get("op", ""),
                    shape,
                    r.get("dtype", ""),
                    r.get("time_s"),
                    r.get("device", ""),
                    r.get("profile", ""),
                    r.get("source", ""),
                    r.get("timing", ""),
                    cond,
                    f"{path.name}:rows[{i}]",
                )
            )
        except _RowError as e:
            raise _fail(path, f"rows[{i}]", e) from None
    return out


def read_measurements(
    path: str | os.PathLike[str], device: str | None = None, limit: int | None = None
) -> list[Measurement]:
    """Every op measurement in a file (canonical CSV/JSON, NeuSight, Vidur or the
    measure_gpu JSON layout; .gz allowed), validated. `device` names the device of a Vidur
    profile kept outside a device-named folder; `limit` reads only the first rows of a CSV
    (a quick sample)."""
    p = Path(os.fspath(path)).expanduser()
    text = _read_text(p)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            raise MeasurementError(f"invalid JSON: {e}", where=str(p)) from None
        if isinstance(data, Mapping) and data.get("format") == "costmodel-measurements":
            if data.get("version") != 1:
                raise MeasurementError(f"unsupported measurements version {data.get('version')!r}", where=str(p))
            return _canonical_json(p, data)
        if isinstance(data, Mapping) and "cases" in data:
            return _gpu_json(p, data)
        raise MeasurementError(
            "unknown JSON layout (expected {'format': 'costmodel-measurements', ...} or a measure_gpu file)",
            where=str(p),
        )
    header, rows = _csv_rows(text, p)
    if limit is not None:
        rows = itertools.islice(rows, limit)
    if tuple(header) == CANONICAL_COLUMNS:
        out = _canonical_csv(p, rows)
    elif header[:3] == ["OPName", "Latency", "Device"]:
        out = _neusight(p, rows)
    elif "num_tokens" in header and any(h.startswith("time_stats.") for h in header):
        out = _vidur(p, rows, device)
    else:
        raise MeasurementError(
            f"unknown CSV layout; the canonical header is {','.join(CANONICAL_COLUMNS)} "
            "(NeuSight and Vidur profiles are also read)",
            where=str(p),
        )
    if not out:
        raise MeasurementError("no measurements in the file", where=str(p))
    return out


def _cell(s: str) -> str:
    return s.replace(",", ";").replace("\n", " ").replace("\r", " ")


def measurements_to_csv(rows: Sequence[Measurement]) -> str:
    """The canonical CSV text for measurements (what read_measurements reads back)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CANONICAL_COLUMNS)
    for m in rows:
        w.writerow(
            [
                m.op,
                m.shape_text(),
                m.dtype,
                f"{m.time_s:.9g}",
                m.device,
                m.profile,
                m.source,
                m.timing,
                " ".join(f"{k}={_cell(v).replace(' ', '_')}" for k, v in m.conditions if v),
            ]
        )
    return buf.getvalue()
