"""A large ONNX file read without its embedded weights: the file is memory-mapped and its
protobuf fields walked in Python, so the data fields of large initializers are skipped,
never read from disk, copied or parsed. What comes back is the ModelProto's bytes with
those initializers' headers (name, type, dims) kept, for the C parser (onnx_proto.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import ModelLoadError
from .onnx_tensor import SMALL_TENSOR

# A file this large holds embedded weights: it is memory-mapped and its protobuf fields
# are walked in Python, so the data fields of large initializers are skipped, never read
# from disk, copied or parsed. A smaller file is parsed whole by the C parser, which is
# faster than a Python field walk and copies at most a few MiB.
SCAN_ABOVE = 16 << 20
_MODEL_GRAPH = 7  # ModelProto.graph
_GRAPH_INITIALIZER = 5  # GraphProto.initializer
_TENSOR_DIMS = 1  # TensorProto.dims
_TENSOR_DATA = frozenset({4, 5, 6, 7, 9, 10, 11})  # float/int32/string/int64/raw/double/uint64 data


class _Truncated(Exception):
    pass


def _varint(buf: Any, i: int, end: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= end:
            raise _Truncated
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise _Truncated


def _fields(buf: Any, i: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """(field number, wire type, field start, payload start, field end) of each field."""
    while i < end:
        start = i
        key, i = _varint(buf, i, end)
        wt = key & 7
        if key >> 3 == 0:  # field number 0 is invalid in protobuf (zero-filled bytes)
            raise _Truncated
        if wt == 0:
            _, j = _varint(buf, i, end)
        elif wt == 1:
            j = i + 8
        elif wt == 2:
            n, i = _varint(buf, i, end)
            j = i + n
        elif wt == 5:
            j = i + 4
        else:
            raise _Truncated  # groups are not used by ONNX
        if j > end:
            raise _Truncated
        yield key >> 3, wt, start, i, j
        i = j


def _key_and_length(field: int, n: int) -> bytes:
    out = bytearray()
    for v in ((field << 3) | 2, n):
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


def _tensor_header(buf: Any, start: int, end: int) -> bytes | None:
    """A serialized TensorProto without its data fields when it is large (None: keep it)."""
    dims: list[int] = []
    kept: list[tuple[int, int]] = []
    has_data = False
    for f, wt, s, p, e in _fields(buf, start, end):
        if f == _TENSOR_DIMS:
            if wt == 2:  # packed
                k = p
                while k < e:
                    d, k = _varint(buf, k, e)
                    dims.append(d)
            else:
                dims.append(_varint(buf, p, e)[0])
        if f in _TENSOR_DATA:
            has_data = True
        else:
            kept.append((s, e))
    numel = 1
    for d in dims:
        numel *= d
    if not has_data or numel <= SMALL_TENSOR:
        return None
    return b"".join(buf[s:e] for s, e in kept)


def without_weight_data(f: Any, where: str) -> bytes:
    """The ModelProto bytes of an open file, minus the data of large initializers."""
    import mmap

    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        try:
            return _strip_model(buf, len(buf))
        except _Truncated:  # not copied whole: a large corrupt file would cost its size in memory
            raise ModelLoadError("not a valid ONNX protobuf (corrupt or truncated)", where=where) from None


def _strip_model(buf: Any, size: int) -> bytes:
    out: list[bytes] = []
    for f, wt, s, p, e in _fields(buf, 0, size):
        if f != _MODEL_GRAPH or wt != 2:
            out.append(buf[s:e])
            continue
        graph: list[bytes] = []
        run = p  # start of the current run of fields copied verbatim
        for gf, gwt, gs, gp, ge in _fields(buf, p, e):
            if gf != _GRAPH_INITIALIZER or gwt != 2:
                continue
            header = _tensor_header(buf, gp, ge)
            if header is None:
                continue
            graph.append(buf[run:gs])
            graph.append(_key_and_length(_GRAPH_INITIALIZER, len(header)) + header)
            run = ge
        graph.append(buf[run:e])
        body = b"".join(graph)
        out.append(_key_and_length(_MODEL_GRAPH, len(body)) + body)
    return b"".join(out)
