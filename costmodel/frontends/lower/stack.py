"""The layer stack of a `stack` architecture (decoders, encoders, Mamba, RWKV, linear
attention, hybrids): the embedding, one graph per distinct layer signature standing for
every layer that shares it, and the head."""

from __future__ import annotations

from collections.abc import Sequence

from ...ir.graph import Graph
from ..spec import ModelSpec
from ..spec.architectures import LayerKind
from .attention import linear_attention
from .context import Ctx
from .decoder import attention_layer, embedding, ffn
from .griffin import rglru_block
from .heads import head
from .rwkv import rwkv6_layer
from .ssm import mamba1, mamba2
from .workload import LayerSet, Segment, Workload, layers_label

Signature = tuple[LayerKind, bool, bool, bool]


def layer_signature(spec: ModelSpec, i: int) -> Signature:
    """Layers with equal signatures lower to the same graph: the mixer kind, MoE or dense,
    sliding window or global, and whether it is a first layer with an extra norm."""
    return (spec.layer_kind(i), spec.is_moe_layer(i), spec.is_sliding(i), i == 0 and spec.arch.first_layer_norm)


def layer_graph(spec: ModelSpec, wl: Workload, i: int, name: str = "layer") -> Graph:
    """Layer i of the stack as one graph (input "h", output the next hidden state)."""
    kind = spec.layer_kind(i)
    if kind is LayerKind.ATTENTION:
        return attention_layer(spec, wl, i, name)
    c = Ctx(spec, wl, name)
    d = spec.hidden_size
    bsz, seq = c.bs
    x = c.b.input("h", (bsz, seq, d), wl.dtype)
    if kind is LayerKind.RWKV:
        return rwkv6_layer(c, x, i)
    if kind is LayerKind.MAMBA:
        mixer = mamba2 if spec.ssm_version() == 2 else mamba1
        y = mixer(c, c.norm(x, d, "norm"), "mixer")
    elif kind is LayerKind.RGLRU:
        y = rglru_block(c, c.norm(x, d, "temporal_pre_norm"), "temporal_block")
    else:
        y = linear_attention(c, c.norm(x, d, "norm"), "mixer")
    x = c.b.node("Add", [x, y], name="residual_1")
    if spec.arch.mlp_after_mixer and (spec.intermediate_size or spec.is_moe_layer(i)):
        x = c.b.node("Add", [x, ffn(c, c.norm(x, d, "ln_2"), i, "mlp")], name="residual_2")
    c.b.output(x)
    return c.b.build()


_TUPLE_LAYERS = 4096  # groups of a stack this deep or shallower are tuples, deeper ones LayerSets


def group_layers(spec: ModelSpec, layers: Sequence[int]) -> list[Sequence[int]]:
    """The layers grouped by signature, groups in order of first appearance. A contiguous
    `range` of a periodic stack is grouped by arithmetic (ModelSpec.representative_layer:
    after the first `offset` layers, layer i stands as offset + (i - offset) % period), in
    time proportional to the distinct layers; a deep stack's groups are LayerSets."""
    if isinstance(layers, range) and layers.step == 1 and not spec.layer_types:
        offset, period = spec.layer_cycle()
        if offset + period < len(layers):
            return _group_periodic(spec, layers, offset, period)
    sigs: dict[int, Signature] = {}
    groups: dict[Signature, list[int]] = {}
    for i in layers:
        r = spec.representative_layer(i)
        sig = sigs.get(r)
        if sig is None:
            sig = sigs[r] = layer_signature(spec, r)
        groups.setdefault(sig, []).append(i)
    return [tuple(g) for g in groups.values()]


def _group_periodic(spec: ModelSpec, layers: range, offset: int, period: int) -> list[Sequence[int]]:
    start, stop = layers.start, layers.stop
    classes: list[tuple[int, range]] = [(i, range(i, i + 1)) for i in range(start, min(stop, offset))]
    lo = max(start, offset)
    for j in range(period):
        first = lo + (offset + j - lo) % period
        if first < stop:
            classes.append((offset + j, range(first, stop, period)))
    groups: dict[Signature, list[range]] = {}
    for rep, r in sorted(classes, key=lambda c: c[1].start):
        groups.setdefault(layer_signature(spec, rep), []).append(r)
    deep = len(layers) > _TUPLE_LAYERS
    return [LayerSet(rs) if deep else tuple(LayerSet(rs)) for rs in groups.values()]


def lower_stack(
    spec: ModelSpec, wl: Workload, layers: Sequence[int], with_embed: bool, with_head: bool
) -> list[Segment]:
    segs = [Segment("embed", embedding(spec, wl))] if with_embed else []
    for idx in group_layers(spec, layers):
        segs.append(Segment(layers_label("layers", idx), layer_graph(spec, wl, idx[0]), idx, "layers"))
    if with_head:
        segs.append(Segment("head", head(spec, wl)))
    return segs
