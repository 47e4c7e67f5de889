"""Normalizations an exporter decomposes, recognised back into one kernel, and residual
adds fused into the normalization after them.

- LayerNorm: ReduceMean(x) -> Sub(x, mean) -> Pow(2) (or Mul(d, d)) -> ReduceMean ->
  Add(eps) -> Sqrt -> Div(d, .) [-> Mul(gamma)] [-> Add(beta)]: what torch.onnx emits
  for F.layer_norm below opset 17 (symbolic_opset9.py `layer_norm` via
  `native_layer_norm`). PyTorch runs `vectorized_layer_norm_kernel`, one kernel (H200
  profiles in benchmarks/data); ONNX Runtime's LayerNormFusion
  (onnxruntime/core/optimizer/layer_norm_fusion.cc) and TensorRT's normalization layer
  recognise the same chain.
- RMSNorm: Pow(x, 2) -> ReduceMean -> Add(eps) -> Sqrt -> Reciprocal | Div(1, .) ->
  Mul(x, .) (or Div(x, .)) [-> Mul(weight)] (nn.RMSNorm's decomposition; PyTorch >= 2.8 runs it as one
  `_fused_rms_norm` kernel on CUDA, aten/src/ATen/native/native_functions.yaml; ONNX
  Runtime's SimplifiedLayerNormalization fusion). Casts to fp32 and back around it (HF's
  hand-written RMSNorm) join the kernel too; eager PyTorch runs that hand-written form
  as several kernels, which an export cannot tell apart from nn.RMSNorm.
- Residual add + norm (`residual`): an Add whose result feeds a normalization (and may
  be read again later, as the residual stream): ONNX Runtime's SkipLayerNormalization
  (fusion_skiplayernorm.py), vLLM's `fused_add_rms_norm` (csrc/layernorm_kernels.cu),
  Inductor's reduction kernels with the add as a prologue. The fused kernel writes both
  the sum and the normalized output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ir.graph import Graph, Node
from .rewrite import DOMAIN, Facts, Found, Group, Index

NORM_OPS = ("LayerNormalization", "RMSNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization")


def _onnx(n: Node | None, *ops: str) -> bool:
    return n is not None and n.domain in ("", "ai.onnx") and n.op_type in ops


def _other(n: Node, value: str) -> str | None:
    if len(n.inputs) != 2 or value not in n.inputs:
        return None
    return n.inputs[1] if n.inputs[0] == value else n.inputs[0]


def _square(n: Node | None, x: str, facts: Facts) -> bool:
    if _onnx(n, "Pow") and n is not None:
        v = facts.scalar(n.inputs[1]) if len(n.inputs) == 2 else None
        return n.inputs[0] == x and v is not None and abs(v - 2.0) < 1e-6
    return _onnx(n, "Mul") and n is not None and list(n.inputs) == [x, x]


def _close(v: float | None, want: float) -> bool:
    return v is not None and abs(v - want) <= 1e-6 * max(1.0, abs(want))


def _variance_tail(mean2: Node, facts: Facts, idx: Index) -> tuple[list[Node], str] | None:
    """ReduceMean -> Add(eps) -> Sqrt -> (value of the std): members and the std value."""
    add = idx.only_user(mean2.outputs[0])
    if not _onnx(add, "Add") or add is None or facts.scalar(_other(add, mean2.outputs[0]) or "") is None:
        return None
    sqrt = idx.only_user(add.outputs[0])
    if not _onnx(sqrt, "Sqrt") or sqrt is None:
        return None
    return [mean2, add, sqrt], sqrt.outputs[0]


def _affine(last: Node, facts: Facts, idx: Index) -> list[Node]:
    """Trailing Mul(gamma) and Add(beta) by resident tensors."""
    out: list[Node] = []
    y = last.outputs[0]
    for op in ("Mul", "Add"):
        u = idx.only_user(y)
        if not _onnx(u, op) or u is None or not facts.resident(_other(u, y) or ""):
            break
        out.append(u)
        y = u.outputs[0]
    return out


def layer_norm(mean: Node, facts: Facts, idx: Index) -> list[Node] | None:
    """Members of a decomposed LayerNorm starting at its first ReduceMean."""
    if not _onnx(mean, "ReduceMean"):
        return None
    x = mean.inputs[0]
    sub = idx.only_user(mean.outputs[0])
    if not _onnx(sub, "Sub") or sub is None or sub.inputs[0] != x:
        return None
    d = sub.outputs[0]
    users = idx.users(d)
    sq = next((u for u in users if _square(u, d, facts)), None)
    div = next((u for u in users if _onnx(u, "Div") and u.inputs[0] == d), None)
    if sq is None or div is None or len(users) != 2:
        return None
    mean2 = idx.only_user(sq.outputs[0])
    if not _onnx(mean2, "ReduceMean") or mean2 is None:
        return None
    tail = _variance_tail(mean2, facts, idx)
    if tail is None or div.inputs[1] != tail[1]:
        return None
    members = [mean, sub, sq, *tail[0], div]
    members += _affine(div, facts, idx)
    return members if _ok(members, facts, idx) else None


def rms_norm(sq: Node, facts: Facts, idx: Index) -> list[Node] | None:
    """Members of a decomposed RMSNorm starting at its Pow(x, 2) (with the casts of a
    hand-written fp32 RMSNorm around it)."""
    if not sq.inputs or not _square(sq, sq.inputs[0], facts):
        return None
    x = sq.inputs[0]
    mean2 = idx.only_user(sq.outputs[0])
    if not _onnx(mean2, "ReduceMean") or mean2 is None:
        return None
    tail = _variance_tail(mean2, facts, idx)
    if tail is None:
        return None
    members = [sq, *tail[0]]
    std = tail[1]
    inv = idx.only_user(std)
    one_over = (
        _onnx(inv, "Div") and inv is not None and inv.inputs[1] == std and _close(facts.scalar(inv.inputs[0]), 1.0)
    )
    if (_onnx(inv, "Reciprocal") or one_over) and inv is not None:
        members.append(inv)
        scale_user = idx.only_user(inv.outputs[0])
        if not _onnx(scale_user, "Mul") or scale_user is None or _other(scale_user, inv.outputs[0]) != x:
            return None
        last = scale_user
    elif _onnx(inv, "Div") and inv is not None and inv.inputs[1] == std and inv.inputs[0] == x:
        last = inv
    else:
        return None
    members.append(last)
    cast_in = idx.producer.get(x)
    if _onnx(cast_in, "Cast") and cast_in is not None and idx.private(cast_in, members) and facts.joinable(cast_in):
        members.insert(0, cast_in)
    u = idx.only_user(last.outputs[0])
    if _onnx(u, "Cast") and u is not None:
        members.append(u)
        last = u
    members += _affine(last, facts, idx)
    return members if _ok(members, facts, idx) else None


def _ok(members: list[Node], facts: Facts, idx: Index) -> bool:
    if not all(facts.joinable(m) for m in members):
        return False
    last = members[-1]
    return all(idx.private(m, members) for m in members if m is not last and m.op_type != "Cast")


def norms(*, layer: bool = True, rms: bool = True) -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    """Decomposed LayerNorm / RMSNorm chains as one normalization kernel each."""

    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        out: list[Found] = []
        for n in idx.order:
            m = None
            if layer and n.op_type == "ReduceMean":
                m = layer_norm(n, facts, idx)
            elif rms and n.op_type in ("Pow", "Mul"):
                m = rms_norm(n, facts, idx)
            if m:
                out.append(Group(tuple(m), "FusedNormalization", m[-1]))
        return out

    return find


def _is_norm(n: Node) -> bool:
    if _onnx(n, *NORM_OPS) or (n.domain == "com.microsoft" and n.op_type in NORM_OPS):
        return True
    return n.domain == DOMAIN and n.op_type == "FusedNormalization"


def residual_norm() -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    """Add(a, b) -> norm(sum): one kernel writing the sum and the normalized output."""

    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        out: list[Found] = []
        for n in idx.order:
            if not _is_norm(n) or not facts.joinable(n) or not n.inputs:
                continue
            add = idx.producer.get(n.inputs[0])
            if not _onnx(add, "Add") or add is None or not facts.joinable(add) or not facts.costed(add):
                continue
            a, b = (facts.shape(x) for x in add.inputs[:2])
            if a is None or b is None or a != b:  # a residual add of two streams, no broadcast
                continue
            out.append(Group((add, n), "FusedNormalization", n))
        return out

    return find


__all__ = ["layer_norm", "norms", "residual_norm", "rms_norm"]
