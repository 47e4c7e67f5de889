"""A graph's NodeProtos read straight from the file's bytes (protobuf's wire format).

Each field read through protobuf's Python message objects costs a C call and a new
Python object (about 3 us for a node's six fields); nodes are most of a graph's fields,
so the top-level graph's nodes are walked here in one pass over their bytes instead, after
protobuf's C parser has checked the whole file. Only what ONNX nodes normally hold is read
here: a node with anything else (a subgraph or tensor-list attribute, a field of an
unexpected wire type, a message field given twice, text that is not UTF-8) comes back as
None and is read through protobuf, so the result is the same either way
(tests/test_onnx_wire.py compares the two readers).

Field numbers and types are onnx.proto's (onnx 1.23): NodeProto input 1, output 2, name 3,
op_type 4, attribute 5, domain 7 (doc_string 6, overload 8, metadata_props 9 unused);
AttributeProto name 1, f 2 (float), i 3 (int64), s 4, t 5, floats 7, ints 8, strings 9,
type 20 (the others mean a value this reader leaves to protobuf).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

_F32 = struct.Struct("<f")
_MODEL_GRAPH = 7
_WANTED = frozenset({1, 2, 3, 4, 6, 7, 8})  # FLOAT INT STRING TENSOR FLOATS INTS STRINGS


class Truncated(Exception):
    pass


def varint(buf: Any, i: int, end: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= end:
            raise Truncated
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise Truncated


def fields(buf: Any, i: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """(field number, wire type, field start, payload start, field end) of each field."""
    while i < end:
        start = i
        key, i = varint(buf, i, end)
        wt = key & 7
        if key >> 3 == 0:  # field number 0 is invalid in protobuf (zero-filled bytes)
            raise Truncated
        if wt == 0:
            _, j = varint(buf, i, end)
        elif wt == 1:
            j = i + 8
        elif wt == 2:
            n, i = varint(buf, i, end)
            j = i + n
        elif wt == 5:
            j = i + 4
        else:
            raise Truncated  # groups are not used by ONNX
        if j > end:
            raise Truncated
        yield key >> 3, wt, start, i, j
        i = j


def node_ranges(buf: bytes) -> list[tuple[int, int]] | None:
    """(start, end) of each NodeProto of the model's graph, in order; None when the graph
    is absent or given twice (protobuf would merge the two)."""
    graph = None
    try:
        for f, wt, _, p, e in fields(buf, 0, len(buf)):
            if f == _MODEL_GRAPH:
                if wt != 2 or graph is not None:
                    return None
                graph = (p, e)
        if graph is None:
            return None
        out: list[tuple[int, int]] = []
        i, end = graph
        while i < end:
            if buf[i] == 0x0A:  # field 1 (node), length-delimited: the common case
                n = buf[i + 1]
                if n < 0x80:
                    s = i + 2
                else:
                    n, s = varint(buf, i + 1, end)
                i = s + n
                out.append((s, i))
            else:
                for _, _, _, _, j in fields(buf, i, end):
                    i = j
                    break
        return out
    except (Truncated, IndexError):
        return None


def read_node(buf: bytes, i: int, end: int) -> tuple[str, str, list[str], list[str], str, list[Any]] | None:
    """(op_type, domain, inputs, outputs, name, attributes) of the NodeProto at buf[i:end],
    each attribute (name, type, value) with a tensor's value as its serialized bytes; None
    for a node left to protobuf."""
    ins: list[str] = []
    outs: list[str] = []
    name = op_type = domain = ""
    attrs: list[Any] = []
    try:
        while i < end:
            key = buf[i]
            if key & 7 != 2 or key >= 0x80:  # every NodeProto field ONNX reads is length-delimited
                return None
            n = buf[i + 1]
            if n < 0x80:
                i += 2
            else:
                n, i = varint(buf, i + 1, end)
            j = i + n
            f = key >> 3
            if f == 1:
                ins.append(buf[i:j].decode())
            elif f == 2:
                outs.append(buf[i:j].decode())
            elif f == 5:
                a = _attribute(buf, i, j)
                if a is None:
                    return None
                attrs.append(a)
            elif f == 4:
                op_type = buf[i:j].decode()
            elif f == 3:
                name = buf[i:j].decode()
            elif f == 7:
                domain = buf[i:j].decode()
            i = j
        if i != end:
            return None
    except (UnicodeDecodeError, IndexError, Truncated):
        return None
    return op_type, domain, ins, outs, name, attrs


def _attribute(buf: bytes, i: int, end: int) -> tuple[str, int, Any] | None:
    name = ""
    kind = 0
    f32: bytes | None = None
    i64 = 0
    s = b""
    t: bytes | None = None
    floats: list[float] = []
    ints: list[int] = []
    strings: list[bytes] = []
    while i < end:
        key, i = varint(buf, i, end)
        f, wt = key >> 3, key & 7
        if wt == 2:
            n, i = varint(buf, i, end)
            j = i + n
            if j > end:
                raise Truncated
            if f == 1:
                name = buf[i:j].decode()
            elif f == 4:
                s = buf[i:j]
            elif f == 5:
                if t is not None:  # protobuf merges a message given twice
                    return None
                t = buf[i:j]
            elif f == 7:  # packed floats
                if n % 4:
                    raise Truncated
                floats.extend(struct.unpack(f"<{n // 4}f", buf[i:j]))
            elif f == 8:  # packed ints
                k = i
                while k < j:
                    v, k = varint(buf, k, j)
                    ints.append(v - (1 << 64) if v >= 1 << 63 else v)
            elif f == 9:
                strings.append(buf[i:j])
            elif f in (6, 10, 11, 14, 15, 22, 23):  # graphs, tensor lists, type protos, sparse tensors
                return None
            i = j
        elif wt == 0:
            v, i = varint(buf, i, end)
            if f == 3:
                i64 = v - (1 << 64) if v >= 1 << 63 else v
            elif f == 20:
                kind = v
            elif f == 8:
                ints.append(v - (1 << 64) if v >= 1 << 63 else v)
        elif wt == 5:
            j = i + 4
            if j > end:
                raise Truncated
            if f == 2:
                f32 = buf[i:j]
            elif f == 7:
                floats.append(_F32.unpack(buf[i:j])[0])
            i = j
        elif wt == 1:
            i += 8
        else:
            return None
    if i != end or kind not in _WANTED:
        return None
    if kind == 1:
        return name, kind, _F32.unpack(f32)[0] if f32 is not None else 0.0
    if kind == 2:
        return name, kind, i64
    if kind == 3:
        return name, kind, s.decode("utf-8", "replace")
    if kind == 4:
        return name, kind, t if t is not None else b""
    if kind == 6:
        return name, kind, tuple(floats)
    if kind == 7:
        return name, kind, tuple(ints)
    return name, kind, tuple(x.decode("utf-8", "replace") for x in strings)
