"""Activations an exporter decomposes, recognised back into the one kernel a framework
runs for them.

- GELU, erf form: x * 0.5 * (1 + erf(x / sqrt(2))), exported by torch.onnx (opsets
  before 20 have no Gelu op) as Div(x, 1.4142) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5)
  (the TorchScript exporter's `gelu` symbolic, torch/onnx/symbolic_opset9.py; the
  dynamo exporter emits the same five ops). PyTorch eager runs `GeluCUDAKernelImpl`:
  one kernel (seen in the H200 profiles of torchvision ViT and ConvNeXt, benchmarks/data).
- GELU, tanh form: 0.5 * x * (1 + tanh(0.79788 * (x + 0.044715 * x^3))) (HF "gelu_new",
  F.gelu(approximate="tanh")). ONNX Runtime's FastGelu fusion
  (onnxruntime/python/tools/transformers/fusion_fastgelu.py) matches the same chain.
- SiLU: x * sigmoid(x), exported as Sigmoid + Mul (F.silu is one kernel, `silu_kernel`
  in the H200 profile of torchvision EfficientNet). A Mul of a sigmoid by another tensor
  (squeeze-excitation's gate) is no SiLU.
- SiLU-and-mul: silu(gate) * up, one kernel in vLLM (vllm/model_executor/layers/
  activation.py `SiluAndMul`, csrc/activation_kernels.cu `act_and_mul_kernel`).

Every constant is checked: a chain of the same shape with other constants is some
other function and is left alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..ir.graph import Graph, Node
from .rewrite import Facts, Found, Group, Index

SQRT2 = math.sqrt(2.0)
TANH_SCALE = math.sqrt(2.0 / math.pi)  # 0.7978845608
CUBIC = 0.044715


def _onnx(n: Node | None, *ops: str) -> bool:
    return n is not None and n.domain in ("", "ai.onnx") and n.op_type in ops


def _close(v: float | None, want: float) -> bool:
    return v is not None and abs(v - want) <= 1e-3 * max(1.0, abs(want))


def _other(n: Node, value: str) -> str | None:
    if len(n.inputs) != 2 or value not in n.inputs:
        return None
    return n.inputs[1] if n.inputs[0] == value else n.inputs[0]


def _scaled_by(n: Node | None, value: str, want: float, facts: Facts) -> bool:
    """`n` multiplies `value` by `want` (or divides it by 1 / want)."""
    if n is None or value not in n.inputs:
        return False
    other = _other(n, value)
    if other is None:
        return False
    c = facts.scalar(other)
    if _onnx(n, "Mul"):
        return _close(c, want)
    if _onnx(n, "Div") and n.inputs[0] == value:
        return c is not None and c != 0 and _close(1.0 / c, want)
    return False


def _private(nodes: list[Node], facts: Facts, idx: Index, last: Node) -> bool:
    """Every node joinable, and every output but the last node's read only inside."""
    if not all(facts.joinable(n) for n in nodes):
        return False
    return all(idx.private(n, nodes) for n in nodes if n is not last)


def _half_x_times(mul: Node, x: str, inner: str, facts: Facts, idx: Index) -> list[Node] | None:
    """The end of 0.5 * x * inner, in any association: Mul(x, inner) -> Mul(0.5), or
    Mul(Mul(x, 0.5), inner), or Mul(0.5, Mul(x, inner)). Returns the Mul nodes."""
    if not _onnx(mul, "Mul") or inner not in mul.inputs:
        return None
    other = _other(mul, inner)
    if other == x:
        nxt = idx.only_user(mul.outputs[0])
        if nxt is not None and _scaled_by(nxt, mul.outputs[0], 0.5, facts):
            return [mul, nxt]
        return None
    if other is None:
        return None
    half = idx.producer.get(other)
    if half is not None and _scaled_by(half, x, 0.5, facts):
        return [half, mul]
    return None


def gelu_erf(x_div: Node, facts: Facts, idx: Index) -> list[Node] | None:
    """Members of x * 0.5 * (1 + erf(x / sqrt 2)) starting at its Div (or Mul by 1/sqrt 2)."""
    if not _onnx(x_div, "Div", "Mul") or not x_div.inputs:
        return None
    x = x_div.inputs[0]
    if not _scaled_by(x_div, x, 1 / SQRT2, facts):
        return None
    erf = idx.only_user(x_div.outputs[0])
    if not _onnx(erf, "Erf") or erf is None:
        return None
    one = idx.only_user(erf.outputs[0])
    if not _onnx(one, "Add") or one is None or not _close(facts.scalar(_other(one, erf.outputs[0]) or ""), 1.0):
        return None
    mul = idx.only_user(one.outputs[0])
    if mul is None:
        return None
    tail = _half_x_times(mul, x, one.outputs[0], facts, idx)
    if tail is None:
        return None
    members = [x_div, erf, one, *tail]
    return members if _private(members, facts, idx, tail[-1]) else None


def gelu_tanh(tanh: Node, facts: Facts, idx: Index) -> list[Node] | None:
    """Members of 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), from its Tanh."""
    if not _onnx(tanh, "Tanh"):
        return None
    scale = idx.producer.get(tanh.inputs[0])
    if not _onnx(scale, "Mul") or scale is None:
        return None
    inner = None
    for v in scale.inputs:
        if _close(facts.scalar(_other(scale, v) or ""), TANH_SCALE):
            inner = v
    add = idx.producer.get(inner) if inner else None
    if not _onnx(add, "Add") or add is None:
        return None
    members = [scale, add, tanh]
    x = None
    for v in add.inputs:  # x + 0.044715 * x^3: find the cubic term
        cub = idx.producer.get(v)
        if _onnx(cub, "Mul") and cub is not None:
            c = next((w for w in cub.inputs if _close(facts.scalar(w), CUBIC)), None)
            if c is None:
                continue
            p3 = idx.producer.get(_other(cub, c) or "")
            if _onnx(p3, "Pow") and p3 is not None and _close(facts.scalar(p3.inputs[1]), 3.0):
                x = p3.inputs[0]
                members += [cub, p3]
            elif _onnx(p3, "Mul") and p3 is not None:  # x * x * x
                sq = idx.producer.get(p3.inputs[0])
                if _onnx(sq, "Mul") and sq is not None and len(set(sq.inputs)) == 1 and sq.inputs[0] in p3.inputs:
                    x = sq.inputs[0]
                    members += [cub, p3, sq]
    if x is None or x not in add.inputs:
        return None
    one = idx.only_user(tanh.outputs[0])
    if not _onnx(one, "Add") or one is None or not _close(facts.scalar(_other(one, tanh.outputs[0]) or ""), 1.0):
        return None
    mul = idx.only_user(one.outputs[0])
    if mul is None:
        return None
    tail = _half_x_times(mul, x, one.outputs[0], facts, idx)
    if tail is None:
        return None
    members += [one, *tail]
    return members if _private(members, facts, idx, tail[-1]) else None


def silu(sig: Node, facts: Facts, idx: Index) -> list[Node] | None:
    """Sigmoid(x) -> Mul(x, .): x * sigmoid(x)."""
    if not _onnx(sig, "Sigmoid"):
        return None
    x = sig.inputs[0]
    mul = idx.only_user(sig.outputs[0])
    if not _onnx(mul, "Mul") or mul is None or _other(mul, sig.outputs[0]) != x:
        return None
    members = [sig, mul]
    return members if _private(members, facts, idx, mul) else None


def activations(*, gelu: bool = True, swish: bool = True) -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    """GELU (erf and tanh forms) and SiLU chains as one elementwise kernel each."""

    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        out: list[Found] = []
        for n in idx.order:
            m = None
            if gelu and n.op_type in ("Div", "Mul"):
                m = gelu_erf(n, facts, idx)
            elif gelu and n.op_type == "Tanh":
                m = gelu_tanh(n, facts, idx)
            elif swish and n.op_type == "Sigmoid":
                m = silu(n, facts, idx)
            if m:
                out.append(Group(tuple(m), "FusedElementwise", m[-1]))
        return out

    return find


def silu_and_mul() -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    """vLLM's SiluAndMul: silu(gate) * up in one kernel (gate a Swish / SiLU node, or a
    fused SiLU made by `activations`)."""

    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        out: list[Found] = []
        for n in idx.order:
            is_silu = (n.op_type == "Swish" and n.domain in ("", "ai.onnx")) or (
                n.op_type == "FusedElementwise" and n.domain == "costmodel" and _is_silu_body(n)
            )
            if not is_silu or not facts.joinable(n):
                continue
            mul = idx.only_user(n.outputs[0])
            if not _onnx(mul, "Mul") or mul is None or not facts.joinable(mul):
                continue
            if _other(mul, n.outputs[0]) is None:
                continue
            out.append(Group((n, mul), "FusedElementwise", mul))
        return out

    return find


def _is_silu_body(n: Node) -> bool:
    body = n.subgraphs.get("body")
    return body is not None and [m.op_type for m in body.nodes] == ["Sigmoid", "Mul"]


__all__ = ["activations", "gelu_erf", "gelu_tanh", "silu", "silu_and_mul"]
