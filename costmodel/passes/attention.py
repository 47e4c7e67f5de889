"""Attention as one fused kernel: MatMul(Q, K^T) -> [scale] -> [mask] -> Softmax ->
MatMul(P, V), with the transposes and reshapes between, where the runtime has one.

The chain: the QK product, scalar Mul/Div scales, additive masks (Add) or selects
(Where), reshapes around the mask (Swin's view-add-view), the Softmax over the last
axis, and the PV product. It is fused only when every intermediate is read by the chain
alone (a Softmax whose probabilities are also returned stays a kernel of its own) and
the Softmax feeds the PV product's left operand.

`sdpa_only` (PyTorch eager): PyTorch fuses attention only where the model calls
`F.scaled_dot_product_attention` (directly, or through `nn.MultiheadAttention`'s
forward, which calls it when no weights are requested; torch/nn/functional.py
`multi_head_attention_forward`, and the native fast path of `MultiheadAttention.forward`
in torch/nn/modules/activation.py). Its ONNX export is recognisable: the exporter
(torch/onnx/symbolic_opset14.py `scaled_dot_product_attention`, the same decomposition
in the dynamo exporter) multiplies both Q and K^T by sqrt(scale) before the product.
A model that writes the products itself (torchvision Swin's `shifted_window_attention`,
HF "eager" attention) runs them as separate kernels in eager mode.

`views` (PyTorch): the movement ops feeding Q, K, V from the projection (the packed
in-projection split by Gather/Slice, head reshapes and transposes) and the output's
transpose back are views the SDPA kernel reads and writes through strides: they join
the kernel. With `mha`, nn.MultiheadAttention's batch-first transposes around the
projections are views too (the fast path never makes them: `_native_multi_head_attention`
in aten/src/ATen/native/transformers/attention.cpp runs qkv linear -> SDPA -> out linear).

Sources for the other runtimes: Inductor replaces these chains by SDPA
(torch/_inductor/fx_passes/fuse_attention.py, `_sfdp_pattern_*`: Div or Mul scale,
optional additive mask, dropout); ONNX Runtime's AttentionFusion / MultiHeadAttention
(onnxruntime/python/tools/transformers/fusion_attention.py and the CUDA EP's fused MHA
kernels); TensorRT fuses MHA (developer guide, "Multi-Head Attention Fusion").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ir.graph import Graph, Node
from .rewrite import MOVEMENT_KINDS, Facts, Found, Group, Index, View

VIEWS = ("Transpose", "Reshape", "Squeeze", "Unsqueeze", "Gather", "Slice", "Split", "Identity", "Flatten")


def _onnx(n: Node | None, *ops: str) -> bool:
    return n is not None and n.domain in ("", "ai.onnx") and n.op_type in ops


def _last_axis(n: Node, facts: Facts) -> bool:
    axis = n.attrs.get("axis", -1)
    r = facts.rank(n.inputs[0])
    return r is not None and axis in (-1, r - 1)


def _swaps_last_two(n: Node, facts: Facts) -> bool:
    perm = n.attrs.get("perm")
    r = facts.rank(n.inputs[0])
    if perm is None or r is None or r < 2:
        return False
    want = list(range(r - 2)) + [r - 1, r - 2]
    return list(perm) == want


def core(softmax: Node, facts: Facts, idx: Index, sdpa_only: bool) -> tuple[list[Node], Node, Node] | None:
    """(members, qk, pv) of the attention chain through `softmax`, or None."""
    if not (_onnx(softmax, "Softmax") and facts.joinable(softmax) and _last_axis(softmax, facts)):
        return None
    pv = idx.only_user(softmax.outputs[0])
    if pv is None or not _onnx(pv, "MatMul") or pv.inputs[0] != softmax.outputs[0] or not facts.costed(pv):
        return None
    members = [softmax, pv]
    x, reader = softmax.inputs[0], softmax
    while True:
        p = idx.producer.get(x)
        if p is None or not facts.joinable(p) or idx.only_user(x) is not reader:
            return None
        if _onnx(p, "MatMul"):
            break
        nxt = _scores_operand(p, facts, idx, sdpa_only)
        if nxt is None:
            return None
        members.append(p)
        x, reader = nxt, p
    qk = p
    if not facts.costed(qk):
        return None
    members.append(qk)
    scaled = 0
    for i in (0, 1):
        v = qk.inputs[i]
        p2 = idx.producer.get(v)
        if p2 is not None and _onnx(p2, "Mul") and facts.joinable(p2) and idx.only_user(v) is qk:
            src = _scaled_operand(p2, facts)
            if src is not None:
                members.append(p2)
                scaled += 1
                v = src
                p2 = idx.producer.get(v)
        if i == 1 and p2 is not None and _onnx(p2, "Transpose") and facts.joinable(p2):
            if _swaps_last_two(p2, facts) and idx.only_user(v) is not None:
                members.append(p2)
    if sdpa_only and scaled != 2:
        return None
    return members, qk, pv


def _scaled_operand(n: Node, facts: Facts) -> str | None:
    """The tensor a Mul scales by a one-element constant (None if it is no such Mul)."""
    if len(n.inputs) != 2:
        return None
    a, b = n.inputs
    if facts.scalar(b) is not None and facts.scalar(a) is None:
        return a
    if facts.scalar(a) is not None and facts.scalar(b) is None:
        return b
    return None


def _scores_operand(p: Node, facts: Facts, idx: Index, sdpa_only: bool) -> str | None:
    """The scores operand of a node between the QK product and the Softmax: a scale
    (Mul/Div by a scalar; not in SDPA's export, which scales Q and K), a mask (Add or
    Sub of a tensor, Where selecting a fill value), a Reshape around a mask (not SDPA).
    None when `p` is none of these."""
    if _onnx(p, "Mul") and not sdpa_only:
        return _scaled_operand(p, facts)
    if _onnx(p, "Div") and not sdpa_only and len(p.inputs) == 2 and facts.scalar(p.inputs[1]) is not None:
        return p.inputs[0]
    if _onnx(p, "Add", "Sub") and len(p.inputs) == 2:
        for x in p.inputs:
            q = idx.producer.get(x)
            if (
                q is not None
                and idx.only_user(x) is p
                and _onnx(q, "MatMul", "Mul", "Div", "Add", "Sub", "Reshape", "Where")
            ):
                if facts.joinable(q) and not facts.constant(x):
                    return x
        return None
    if _onnx(p, "Where") and len(p.inputs) == 3:
        for x in p.inputs[1:]:
            if facts.scalar(x) is None and idx.only_user(x) is p and idx.producer.get(x) is not None:
                return x
        return None
    if _onnx(p, "Reshape") and not sdpa_only:
        return p.inputs[0]
    return None


def _absorb_views(members: list[Node], facts: Facts, idx: Index) -> None:
    """Add the movement nodes that only feed the group (upstream) or only carry its
    output (downstream) and are views for an SDPA kernel reading through strides."""
    changed = True
    while changed:
        changed = False
        ids = {id(m) for m in members}
        for m in list(members):
            for x in m.inputs:
                p = idx.producer.get(x)
                if p is None or id(p) in ids or not _onnx(p, *VIEWS) or not facts.joinable(p):
                    continue
                if facts.kind(p) not in MOVEMENT_KINDS or not idx.private(p, members):
                    continue
                members.append(p)
                ids.add(id(p))
                changed = True
    # downstream: the output's transpose / reshape back to [batch, seq, hidden]
    tail = _output(members, idx)
    while tail is not None:
        u = idx.only_user(tail)
        if u is None or not _onnx(u, "Transpose", "Reshape") or not facts.joinable(u):
            break
        members.append(u)
        tail = u.outputs[0]


def _output(members: list[Node], idx: Index) -> str | None:
    ids = {id(m) for m in members}
    outs = [o for m in members for o in m.outputs if o and any(id(u) not in ids for u in idx.users(o))]
    return outs[0] if len(outs) == 1 else None


def _mha_views(members: list[Node], facts: Facts, idx: Index) -> list[Found]:
    """nn.MultiheadAttention(batch_first=True)'s transposes of the input before the
    packed in-projection and of the output after the out-projection: views in the fast
    path (it never transposes). Found by following the group's one activation input to
    its projection and its output through the out-projection."""
    found: list[Found] = []
    ids = {id(m) for m in members}
    ext = [
        x for m in members for x in m.inputs if x and idx.producer.get(x) is not None and id(idx.producer[x]) not in ids
    ]
    ext = [x for x in dict.fromkeys(ext) if not facts.constant(x)]
    for x in ext:
        n = _through(x, idx)
        if n is not None and _onnx(n, "MatMul", "Gemm"):
            t = idx.producer.get(n.inputs[0])
            if (
                _batch_first_swap(t, facts)
                and t is not None
                and all(_onnx(u, "MatMul", "Gemm") for u in idx.users(t.outputs[0]))
            ):
                found.append(View(t))
    tail = _output(members, idx)
    if tail is not None:
        proj = idx.only_user(tail)
        if _onnx(proj, "MatMul", "Gemm") and proj is not None:
            y = proj.outputs[0]
            u = idx.only_user(y)
            if _onnx(u, "Add") and u is not None and facts.resident(u.inputs[0] if u.inputs[1] == y else u.inputs[1]):
                y = u.outputs[0]
            for _ in range(3):
                u = idx.only_user(y)
                if _onnx(u, "Reshape") and u is not None:
                    y = u.outputs[0]
                    continue
                if _batch_first_swap(u, facts) and u is not None:
                    found.append(View(u))
                break
    return found


def _through(x: str, idx: Index) -> Node | None:
    """The projection making `x`: its producer, through a bias Add."""
    p = idx.producer.get(x)
    if _onnx(p, "Add") and p is not None:
        for y in p.inputs:
            q = idx.producer.get(y)
            if _onnx(q, "MatMul", "Gemm"):
                return q
    return p


def _batch_first_swap(t: Node | None, facts: Facts) -> bool:
    return (
        t is not None
        and _onnx(t, "Transpose")
        and facts.joinable(t)
        and list(t.attrs.get("perm", ())) == [1, 0, 2]
        and facts.rank(t.inputs[0]) == 3
    )


def fuse(
    *, sdpa_only: bool, views: bool = False, mha: bool = False
) -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        out: list[Found] = []
        for n in idx.order:
            if not _onnx(n, "Softmax"):
                continue
            c = core(n, facts, idx, sdpa_only)
            if c is None:
                continue
            members, qk, pv = c
            if views:
                _absorb_views(members, facts, idx)
            extra = _mha_views(members, facts, idx) if mha else []
            out.append(Group(tuple(members), "FusedAttention", qk, {"qk": qk, "pv": pv}))
            out.extend(extra)
        return out

    return find


__all__ = ["core", "fuse"]
