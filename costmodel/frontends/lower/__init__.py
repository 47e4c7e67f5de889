"""Lower a ModelSpec to IR graphs for one workload (prefill, decode step, forward pass).

A model lowers to segments — embedding, one graph per distinct layer signature standing
for every layer that shares it (the segment carries their indices), head — so planners
analyse an 80-layer model by analysing a handful of layer graphs; `unroll` concatenates
them into one graph for per-op reports, each group once with its repeat count
(`assemble`), or every layer copied (`unroll`). The kernel structure follows what serving
engines run: fused QKV and gate/up GEMMs with biases in the epilogue, rotary embedding
inside the attention kernel, one kernel per norm, activation and residual add.

Which lowering builds a model is the architecture table's `lowering`
(spec/architectures.py); one module per block family: attention, decoder (attention
layer, MLP / MoE, embedding, head), ssm (Mamba-1/2), rwkv (RWKV-6), encoder_decoder
(T5), vision (ViT, DiT), stack (the layer stack).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...ir.dtypes import DType
from ...ir.graph import Graph, Initializer, Node, Repeat
from ...symbolic import Shape
from ..builder import OPSETS
from ..spec import ModelSpec
from ..spec.architectures import Lowering
from .context import Ctx
from .conv import lower_cnn
from .encoder_decoder import lower_t5
from .unet import lower_unet, lower_vae_decoder
from .stack import group_layers, layer_graph, layer_signature, lower_stack
from .vision import lower_dit, lower_vit, sampling
from .workload import DiffusionSampling, LayerSet, Logits, Lowered, Phase, Segment, Workload, layers_label

SHARED_WEIGHTS = ("embed_tokens.weight",)  # one tensor read by several segments (tied embeddings)


def lower(
    spec: ModelSpec,
    wl: Workload,
    layers: Sequence[int] | None = None,
    *,
    embed: bool = True,
    head: bool = True,
) -> Lowered:
    """The model (or, with `layers`, those layers of its stack, with or without the
    embedding and head: one pipeline stage) as segments for this workload."""
    lowered = _lower(spec, wl, layers, embed, head)
    if wl.eager_code:  # the model's own code: its nodes are eager PyTorch's kernels as written
        for seg in lowered:
            seg.graph.eager_code = True
    return lowered


def _lower(spec: ModelSpec, wl: Workload, layers: Sequence[int] | None, embed: bool, head: bool) -> Lowered:
    kind = spec.arch.lowering
    idx: Sequence[int] = (
        range(spec.num_layers) if layers is None else layers if isinstance(layers, range) else tuple(layers)
    )
    if kind is Lowering.ENCODER_DECODER:
        if layers is not None or not (embed and head):
            raise ValueError("an encoder-decoder model lowers whole (no pipeline stages)")
        return Lowered(tuple(lower_t5(spec, wl)))
    if kind is Lowering.VISION:
        return Lowered(tuple(lower_vit(spec, wl, idx, embed, head)))
    if kind is Lowering.DIFFUSION:
        return Lowered(tuple(lower_dit(spec, wl, idx, embed, head)), sampling(spec))
    if kind in (Lowering.CONVNET, Lowering.UNET, Lowering.VAE_DECODER):
        if layers is not None or not (embed and head):
            raise ValueError(f"a {spec.architecture} model lowers whole (no pipeline stages)")
        if kind is Lowering.CONVNET:
            return Lowered(tuple(lower_cnn(spec, wl)))
        if kind is Lowering.UNET:
            return Lowered(tuple(lower_unet(spec, wl)), sampling(spec))
        return Lowered(tuple(lower_vae_decoder(spec, wl)))
    return Lowered(tuple(lower_stack(spec, wl, idx, embed, head)))


def unroll(segments: Sequence[Segment] | Lowered, name: str) -> Graph:
    """One graph with every layer (values renamed per copy: `layers3/...`), for per-op
    reports."""
    return _assemble(segments, name, compact=False)


def assemble(segments: Sequence[Segment] | Lowered, name: str) -> Graph:
    """One graph with each segment once: a group of layers is one copy of its graph whose
    nodes and inputs carry a Repeat of the group's size (named by its label:
    `layers[1..31]x31/...`), so the graph's size is independent of the number of layers
    and its totals (FLOPs, bytes, params, peak memory: analysis.py) are the unrolled
    graph's."""
    return _assemble(segments, name, compact=True)


def _assemble(segments: Sequence[Segment] | Lowered, name: str, compact: bool) -> Graph:
    nodes: list[Node] = []
    inits: dict[str, Initializer] = {}
    inputs: list[str] = []
    declared: dict[str, tuple[DType | None, Shape | None]] = {}
    repeats: dict[str, Repeat] = {}
    prev_out: str | None = None
    for seg in segments:
        g = seg.graph
        rep: Repeat | None = None
        if compact and seg.is_layers:
            tags = [f"{seg.name}/"]
            rep = Repeat(seg.repeat, seg.name) if seg.repeat > 1 else None
        else:
            tags = [f"{seg.stack}{i}/" for i in seg.layers] if seg.is_layers else [f"{seg.name}/"]
        for tag in tags:
            ren: dict[str, str] = {}
            for nm in g.inputs:
                if nm == "h" and prev_out is not None:
                    ren[nm] = prev_out
                else:
                    ren[nm] = tag + nm
                    inputs.append(ren[nm])
                    declared[ren[nm]] = g.declared[nm]
                    if rep is not None and nm != "h":
                        repeats[ren[nm]] = rep
            for nm, init in g.initializers.items():
                ren[nm] = nm if nm in SHARED_WEIGHTS else tag + nm
                if ren[nm] not in inits:
                    inits[ren[nm]] = Initializer(ren[nm], init.dtype, init.shape, init.data)
            for n in g.nodes:
                for o in n.outputs:
                    ren[o] = tag + o
            for n in g.nodes:
                nodes.append(
                    Node(
                        tag + n.name,
                        n.op_type,
                        n.domain,
                        tuple(ren.get(x, x) if x else x for x in n.inputs),
                        tuple(ren[o] for o in n.outputs),
                        dict(n.attrs),
                        repeat=rep,
                    )
                )
            prev_out = ren[g.outputs[0]] if g.outputs else prev_out
    eager = any(seg.graph.eager_code for seg in segments)
    out = [prev_out] if prev_out else []
    return Graph(name, nodes, inputs, out, inits, declared, dict(OPSETS), eager_code=eager, repeats=repeats)


__all__ = [
    "SHARED_WEIGHTS",
    "LayerSet",
    "Ctx",
    "DiffusionSampling",
    "Logits",
    "Lowered",
    "Phase",
    "Segment",
    "Workload",
    "assemble",
    "group_layers",
    "layer_graph",
    "layer_signature",
    "layers_label",
    "lower",
    "unroll",
]
