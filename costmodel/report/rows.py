"""Stream rows of a fixed set of columns (dicts) to JSON Lines, a JSON array, CSV or
Parquet, one row at a time: for dataset-scale jobs whose results must not pile up in
memory. Files are written as transactions (report/files.py); CSV cells go through
report/text.py's `csv_cell`.

Types: counts are exact integers or, with symbols left unbound, formula strings. JSON
keeps them as they are; CSV writes them as text; Parquet stores integral counts as
decimal128(38, 0) (exact; int64 would overflow at 9.2e18) and a formula as null in that
column with the formula text in the `formulas` column (a JSON object)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from typing import IO, Any

from ..errors import OutputError
from .model import json_ready
from .text import csv_cell

__all__ = ["FORMAT_BY_SUFFIX", "format_for_path", "require_format", "write_rows"]

FORMAT_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
_INT_COLUMNS = (
    "flops",
    "macs",
    "transcendentals",
    "params",
    "bytes_read",
    "bytes_written",
    "weight_bytes",
    "peak_activation_bytes",
)


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The row format a file name asks for, by its suffix."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    fmt = FORMAT_BY_SUFFIX.get(suffix)
    if fmt is None:
        raise OutputError(
            f"cannot tell the format of {os.fspath(path)!r} from its suffix; use one of {', '.join(FORMAT_BY_SUFFIX)}"
        )
    return fmt


def require_format(fmt: str) -> None:
    """Fail before any work when a format's library is missing (Parquet needs pyarrow)."""
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise OutputError("writing .parquet needs pyarrow: pip install pyarrow (or write .jsonl / .csv)") from None


def _json(row: dict[str, Any]) -> str:
    """One row as strict JSON (model.py's boundary: exact ints, formulas as text, no NaN,
    control and bidi characters escaped)."""
    return json.dumps(json_ready(row), allow_nan=False, ensure_ascii=True)


class _Jsonl:
    def __init__(self, f: IO[str], columns: Sequence[str]) -> None:
        self.f = f

    def write(self, row: dict[str, Any]) -> None:
        self.f.write(_json(row) + "\n")

    def close(self) -> None:
        return None


class _JsonArray:
    def __init__(self, f: IO[str], columns: Sequence[str]) -> None:
        self.f = f
        self.first = True
        f.write("[")

    def write(self, row: dict[str, Any]) -> None:
        self.f.write(("\n" if self.first else ",\n") + _json(row))
        self.first = False

    def close(self) -> None:
        self.f.write("\n]\n" if not self.first else "]\n")


class _Csv:
    def __init__(self, f: IO[str], columns: Sequence[str]) -> None:
        self.w = csv.writer(f, lineterminator="\n")  # as every other CSV costmodel writes
        self.columns = list(columns)
        self.w.writerow(self.columns)

    def write(self, row: dict[str, Any]) -> None:
        cells = []
        for k in self.columns:
            v = row.get(k)
            if isinstance(v, (list, dict)):
                v = json.dumps(v, allow_nan=False)
            cells.append("" if v is None else csv_cell(v))
        self.w.writerow(cells)

    def close(self) -> None:
        return None


class _Parquet:
    """Rows buffered `batch` at a time into record batches of a fixed schema."""

    def __init__(self, f: IO[bytes], columns: Sequence[str], batch: int = 4096) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.columns = list(columns)
        fields = []
        for k in self.columns:
            if k in _INT_COLUMNS:
                t = pa.decimal128(38, 0)
            elif k in ("nodes", "unsupported"):
                t = pa.int64()
            elif k == "ok":
                t = pa.bool_()
            elif k in ("latency_s", "coverage", "seconds"):
                t = pa.float64()
            elif k in ("symbols", "unsupported_ops"):
                t = pa.list_(pa.string())
            else:
                t = pa.string()
            fields.append(pa.field(k, t))
        fields.append(pa.field("formulas", pa.string()))
        self.schema = pa.schema(fields)
        self.writer = pq.ParquetWriter(f, self.schema)
        self.batch = batch
        self.buf: list[dict[str, Any]] = []

    def write(self, row: dict[str, Any]) -> None:
        import decimal

        out: dict[str, Any] = {}
        formulas: dict[str, str] = {}
        for k in self.columns:
            v = row.get(k)
            if k in _INT_COLUMNS and v is not None:
                if isinstance(v, int) and not isinstance(v, bool):
                    v = decimal.Decimal(v)
                else:
                    formulas[k] = str(v)
                    v = None
            elif k in ("symbols", "unsupported_ops") and v is not None:
                v = [str(x) for x in v]
            elif k not in ("nodes", "unsupported", "ok", "latency_s", "coverage", "seconds") and v is not None:
                v = str(v)
            out[k] = v
        out["formulas"] = json.dumps(formulas, allow_nan=False) if formulas else None
        self.buf.append(out)
        if len(self.buf) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if self.buf:
            self.writer.write_table(self.pa.Table.from_pylist(self.buf, schema=self.schema))
            self.buf = []

    def close(self) -> None:
        self._flush()
        self.writer.close()


_SINKS = {"jsonl": _Jsonl, "json": _JsonArray, "csv": _Csv}


def write_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    path: str | os.PathLike[str] | None = None,
    stream: IO[str] | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> int:
    """Write every row as it arrives, to `path` (a transaction) or to the text `stream`;
    return how many were written. On a stream each row is flushed as it is written, and a
    run that stops early still closes what it wrote (a JSON array of the finished rows)."""
    require_format(fmt)
    if path is None:
        if fmt == "parquet" or stream is None:
            raise OutputError("Parquet is written to a file: give --output FILE.parquet")
        sink: Any = _SINKS[fmt](stream, columns)
        stream.flush()  # the header or the opening bracket, before the first result
        try:
            return _drain(rows, sink, stream.flush)
        except BaseException:
            sink.close()
            stream.flush()
            raise
    from .files import open_atomic

    with open_atomic(path, binary=fmt == "parquet", inputs=inputs, what="output") as f:
        sink = _Parquet(f, columns) if fmt == "parquet" else _SINKS[fmt](f, columns)
        return _drain(rows, sink)


def _drain(rows: Iterable[dict[str, Any]], sink: Any, flush: Any = None) -> int:
    n = 0
    for row in rows:
        sink.write(row)
        n += 1
        if flush is not None:
            flush()
    sink.close()
    return n
