"""Image models: ViT classifiers (Dosovitskiy et al. 2021; torchvision layout) and
diffusion transformers, one denoising step (DiT, Peebles & Xie 2023, adaLN-Zero)."""

from __future__ import annotations

from collections.abc import Sequence

from ...ir.dtypes import dtype as to_dtype
from ...ir.graph import Graph
from ..spec import ModelSpec
from .attention import self_attention
from .context import Ctx
from .workload import DiffusionSampling, Logits, Phase, Segment, Workload, layers_label


def _forward(wl: Workload, tokens: int) -> Workload:
    return Workload(Phase.FORWARD, wl.batch, tokens, 0, Logits.NONE, wl.dtype, wl.weight_dtype, wl.kv_dtype)


def _encoder_layer(spec: ModelSpec, wl: Workload, name: str, tokens: int) -> Graph:
    c = Ctx(spec, wl, name)
    d = spec.hidden_size
    x = c.b.input("h", (wl.batch, tokens, d), wl.dtype)
    a = self_attention(c, c.norm(x, d, "ln_1"), 0, "attn", causal=False)
    x = c.b.node("Add", [x, a], name="residual_1")
    x = c.b.node("Add", [x, c.mlp(c.norm(x, d, "ln_2"), spec.intermediate_size, "mlp")], name="residual_2")
    c.b.output(x)
    return c.b.build()


def lower_vit(spec: ModelSpec, wl: Workload, layers: Sequence[int], with_embed: bool, with_head: bool) -> list[Segment]:
    s, d, p = spec, spec.hidden_size, spec.patch_size
    n = (s.image_size // p) ** 2
    tokens = n + (1 if s.class_token else 0)
    fw = _forward(wl, tokens)
    segs: list[Segment] = []
    if with_embed:
        c = Ctx(spec, fw, "patch")
        img = c.b.input("pixel_values", (wl.batch, s.num_channels, s.image_size, s.image_size), wl.dtype)
        x = c.b.node(
            "Conv",
            [
                img,
                c.b.weight("conv_proj.weight", (d, s.num_channels, p, p), wl.dtype),
                c.b.weight("conv_proj.bias", (d,), wl.dtype),
            ],
            name="conv_proj",
            kernel_shape=[p, p],
            strides=[p, p],
        )
        x = c.view(x, (wl.batch, n, d), "tokens")
        if s.class_token:
            cls = c.b.node(
                "Expand",
                [c.b.weight("class_token", (1, 1, d), wl.dtype), c.b.ints("cls_shape", [wl.batch, 1, d])],
                name="cls_expand",
            )
            x = c.b.node("Concat", [cls, x], name="cat_cls", axis=1)
        x = c.b.node("Add", [x, c.b.weight("pos_embedding", (1, tokens, d), wl.dtype)], name="add_pos")
        c.b.output(x)
        segs.append(Segment("patch_embed", c.b.build()))
    idx = tuple(layers)
    if idx:
        segs.append(
            Segment(
                layers_label("encoder.layers", idx), _encoder_layer(spec, fw, "layer", tokens), idx, "encoder.layers"
            )
        )
    if with_head:
        hc = Ctx(spec, fw, "head")
        x = hc.b.input("h", (wl.batch, tokens, d), wl.dtype)
        x = hc.norm(x, d, "ln")
        x = hc.b.node("Gather", [x, hc.b.ints("cls_index", [0])], name="cls_token", axis=1)
        if s.num_classes:
            x = hc.linear(x, d, s.num_classes, "heads", True, wdt=wl.dtype)
        hc.b.output(x)
        segs.append(Segment("head", hc.b.build()))
    return segs


def sampling(spec: ModelSpec) -> DiffusionSampling | None:
    """The network evaluations per generated sample the spec asks for (None when it
    gives no step count): diffusion_steps, each on a doubled batch under classifier-free
    guidance (a guidance_scale above 1, or `guidance` when no scale is given)."""
    if not spec.diffusion_steps:
        return None
    return DiffusionSampling(steps=spec.diffusion_steps, batch_factor=2 if guided(spec) else 1)


def guided(spec: ModelSpec) -> bool:
    return spec.guidance_scale > 1 if spec.guidance_scale else spec.guidance


def lower_dit(spec: ModelSpec, wl: Workload, layers: Sequence[int], with_embed: bool, with_head: bool) -> list[Segment]:
    """One denoising step at the workload's batch; `sampling(spec)` says how many steps
    a sample takes and on what batch multiple. A video DiT (num_frames > 0; Latte, Ma et
    al. 2024, variant 1) patchifies every frame, adds a temporal position embedding, and
    alternates blocks: even ones attend within a frame, odd ones across the frames at
    one spatial position."""
    s, d, p = spec, spec.hidden_size, spec.patch_size
    n = (s.image_size // p) ** 2
    out_ch = s.num_channels * (2 if s.learn_sigma else 1)
    frames = s.num_frames or 1
    fw = _forward(Workload(wl.phase, wl.batch * frames, 1, 0, wl.logits, wl.dtype, wl.weight_dtype), n)
    segs: list[Segment] = []
    if with_embed:
        c = Ctx(spec, fw, "embed")
        b = c.b
        img = b.input("latent", (fw.batch, s.num_channels, s.image_size, s.image_size), wl.dtype)
        x = b.node(
            "Conv",
            [
                img,
                b.weight("x_embedder.weight", (d, s.num_channels, p, p), wl.dtype),
                b.weight("x_embedder.bias", (d,), wl.dtype),
            ],
            name="x_embedder",
            kernel_shape=[p, p],
            strides=[p, p],
        )
        # fixed sin-cos table, stored as a (frozen) nn.Parameter in the reference code
        x = b.node(
            "Add", [c.view(x, (fw.batch, n, d), "tokens"), b.weight("pos_embed", (1, n, d), wl.dtype)], name="add_pos"
        )
        if s.num_frames:  # fixed sin-cos table over the frames (Latte's temp_embed)
            per_clip = c.view(x, (wl.batch, frames, n, d), "clips")
            x = b.node("Add", [per_clip, b.weight("temp_embed", (1, frames, 1, d), wl.dtype)], name="add_temporal")
            x = c.view(x, (fw.batch, n, d), "frames")
        freq = b.input("t_freq", (wl.batch, 256), wl.dtype)
        t = c.linear(
            b.node("Swish", [c.linear(freq, 256, d, "t_embedder.0", True)], name="t_silu"), d, d, "t_embedder.2", True
        )
        ytab = b.weight("y_embedder.weight", (s.num_classes + 1, d), wl.dtype)
        yv = b.node("Gather", [ytab, b.input("labels", (wl.batch,), to_dtype("int64"))], name="y_embedder", axis=0)
        b.node("Add", [t, yv], name="cond")
        b.output(x)
        segs.append(Segment("embed", b.build()))
    idx = tuple(layers)
    if idx and s.num_frames:
        spatial = tuple(i for i in idx if i % 2 == 0)
        temporal = tuple(i for i in idx if i % 2 == 1)
        if spatial:
            segs.append(Segment(layers_label("blocks", spatial), _dit_block(spec, fw, n), spatial, "blocks"))
        if temporal:
            tg = _dit_block(spec, fw, n, frames=frames, clips=wl.batch)
            segs.append(Segment(layers_label("blocks", temporal), tg, temporal, "blocks"))
    elif idx:
        segs.append(Segment(layers_label("blocks", idx), _dit_block(spec, fw, n), idx, "blocks"))
    if with_head:
        segs.append(Segment("final_layer", _dit_final(spec, fw, n, p * p * out_ch)))
    return segs


def _dit_block(spec: ModelSpec, fw: Workload, n: int, frames: int = 0, clips: int = 1) -> Graph:
    """One adaLN-Zero block over (frames x clips, n, d) tokens; with `frames`, a temporal
    block: rearranged to (clips x n, frames, d) around it (einops' "(b f) t d ->
    (b t) f d", a copy each way)."""
    d = spec.hidden_size
    if frames:
        tw = Workload(fw.phase, clips * n, frames, 0, fw.logits, fw.dtype, fw.weight_dtype)
        blk = Ctx(spec, tw, "temporal_block")
    else:
        blk = Ctx(spec, fw, "block")
    bb = blk.b
    x = bb.input("h", (fw.batch, n, d), fw.dtype)
    if frames:
        x = blk.view(x, (clips, frames, n, d), "to_clips")
        x = bb.node("Transpose", [x], name="to_temporal", perm=[0, 2, 1, 3])
        x = blk.view(x, (clips * n, frames, d), "temporal_tokens")
    rows = clips * n if frames else fw.batch
    cond = bb.input("c", (rows, 1, d), fw.dtype)
    ones = bb.input("unit_scale", (d,), fw.dtype)
    mod = blk.linear(bb.node("Swish", [cond], name="adaln_silu"), d, 6 * d, "adaLN_modulation", True)
    parts = blk.split(mod, [d] * 6, "adaln_split")

    def modulate(t: str, shift: str, scale: str, tag: str) -> str:
        out: str = bb.node("Add", [bb.node("Mul", [t, scale], name=f"{tag}.scale"), shift], name=f"{tag}.shift")
        return out

    h1 = modulate(bb.node("LayerNormalization", [x, ones], name="norm1", axis=-1), parts[0], parts[1], "mod1")
    a = self_attention(blk, h1, 0, "attn", causal=False)
    x = bb.node("Add", [x, bb.node("Mul", [a, parts[2]], name="gate_msa")], name="residual_1")
    h2 = modulate(bb.node("LayerNormalization", [x, ones], name="norm2", axis=-1), parts[3], parts[4], "mod2")
    x = bb.node(
        "Add",
        [x, bb.node("Mul", [blk.mlp(h2, spec.intermediate_size, "mlp"), parts[5]], name="gate_mlp")],
        name="residual_2",
    )
    if frames:
        x = blk.view(x, (clips, n, frames, d), "from_temporal")
        x = bb.node("Transpose", [x], name="to_frames", perm=[0, 2, 1, 3])
        x = blk.view(x, (fw.batch, n, d), "frame_tokens")
    bb.output(x)
    return bb.build()


def _dit_final(spec: ModelSpec, fw: Workload, n: int, out: int) -> Graph:
    d = spec.hidden_size
    fc = Ctx(spec, fw, "final")
    fb = fc.b
    x = fb.input("h", (fw.batch, n, d), fw.dtype)
    cond = fb.input("c", (fw.batch, 1, d), fw.dtype)
    ones = fb.input("unit_scale", (d,), fw.dtype)
    mod = fc.linear(fb.node("Swish", [cond], name="adaln_silu"), d, 2 * d, "adaLN_modulation", True)
    shift, scale = fc.split(mod, [d, d], "adaln_split")
    normed = fb.node("LayerNormalization", [x, ones], name="norm_final", axis=-1)
    h = fb.node("Add", [fb.node("Mul", [normed, scale], name="mod.scale"), shift], name="mod.shift")
    fb.output(fc.linear(h, d, out, "linear", True))
    return fb.build()
