"""Latent-diffusion UNets and VAE decoders (Rombach et al. 2022), block for block as
diffusers builds them (UNet2DConditionModel, AutoencoderKL's Decoder), so parameter
counts match the released checkpoints.

- ResnetBlock2D: GroupNorm, SiLU, 3x3 conv, + Linear(time embedding) (UNet only),
  GroupNorm, SiLU, 3x3 conv, 1x1 conv shortcut when channels change.
- Transformer2DModel: GroupNorm, proj_in (1x1 conv, or Linear with
  linear_projection), `n` BasicTransformerBlocks (LayerNorm, self-attention with q/k/v
  unbiased and a biased output; LayerNorm, cross-attention to the text states;
  LayerNorm, GEGLU feed-forward 4x), proj_out, residual.
- Down path: conv_in, per level `layers` ResNet blocks (each followed by its transformer
  at attention levels), a stride-2 3x3 conv between levels; every block output (and
  conv_in's, and each down-sampler's) is kept for a skip.
- Mid block: ResNet, transformer, ResNet. Up path: per level `layers + 1` ResNet blocks,
  each over its input concatenated with the last kept skip, nearest x2 up-sampling then a
  3x3 conv between levels. Out: GroupNorm, SiLU, 3x3 conv.
"""

from __future__ import annotations

from ...ir.activations import Activation
from ..spec import ModelSpec
from .conv import ConvCtx
from .workload import Logits, Phase, Segment, Workload

SILU = Activation.SILU


class _UNet:
    def __init__(self, spec: ModelSpec, wl: Workload, name: str) -> None:
        assert spec.unet is not None  # validated
        self.s, self.u = spec, spec.unet
        self.wl = Workload(Phase.FORWARD, wl.batch, 1, 0, Logits.NONE, wl.dtype, wl.weight_dtype, wl.kv_dtype)
        self.c = ConvCtx(spec, self.wl, name)
        self.b = self.c.b
        self.batch = wl.batch
        self.temb: str | None = None
        self.temb_dim = 0
        self.context: str | None = None
        self.eps = 1e-5

    def resnet(self, x: str, cin: int, cout: int, name: str) -> str:
        c, g = self.c, self.u.norm_groups
        h = c.act(c.group_norm(x, cin, g, f"{name}.norm1", self.eps), f"{name}.silu1", SILU)
        h = c.conv(h, cin, cout, 3, f"{name}.conv1", bias=True)
        if self.temb is not None:
            t = c.act(self.temb, f"{name}.temb_silu", SILU)
            t = c.linear(t, self.temb_dim, cout, f"{name}.time_emb_proj", True)
            h = self.b.node("Add", [h, c.view(t, (self.batch, cout, 1, 1), f"{name}.temb_view")], name=f"{name}.temb")
        h = c.act(c.group_norm(h, cout, g, f"{name}.norm2", self.eps), f"{name}.silu2", SILU)
        h = c.conv(h, cout, cout, 3, f"{name}.conv2", bias=True)
        sc = c.conv(x, cin, cout, 1, f"{name}.conv_shortcut", bias=True) if cin != cout else x
        out: str = self.b.node("Add", [sc, h], name=f"{name}.add")
        return out

    def _to_tokens(self, x: str, ch: int, size: int, name: str) -> str:
        t = self.b.node("Transpose", [x], name=f"{name}.to_nhwc", perm=[0, 2, 3, 1])
        return self.c.view(t, (self.batch, size * size, ch), f"{name}.tokens")

    def _to_map(self, x: str, ch: int, size: int, name: str) -> str:
        t = self.c.view(x, (self.batch, size, size, ch), f"{name}.nhwc")
        out: str = self.b.node("Transpose", [t], name=f"{name}.to_nchw", perm=[0, 3, 1, 2])
        return out

    def _attention(self, x: str, kv: str, kv_dim: int, d: int, heads: int, name: str, bias: bool = False) -> str:
        c = self.c
        q = c.linear(x, d, d, f"{name}.to_q", bias)
        k = c.linear(kv, kv_dim, d, f"{name}.to_k", bias)
        v = c.linear(kv, kv_dim, d, f"{name}.to_v", bias)
        a = self.b.node("Attention", [q, k, v], n_out=1, name=f"{name}.sdpa", q_num_heads=heads, kv_num_heads=heads)
        return c.linear(a, d, d, f"{name}.to_out", True)

    def _block(self, x: str, d: int, heads: int, name: str) -> str:
        c = self.c
        ln = c.b.node("LayerNormalization", [x, *self._ln(d, f"{name}.norm1")], name=f"{name}.norm1", axis=-1)
        x = self.b.node("Add", [x, self._attention(ln, ln, d, d, heads, f"{name}.attn1")], name=f"{name}.res1")
        ln = c.b.node("LayerNormalization", [x, *self._ln(d, f"{name}.norm2")], name=f"{name}.norm2", axis=-1)
        assert self.context is not None
        ca = self._attention(ln, self.context, self.u.cross_attention_dim, d, heads, f"{name}.attn2")
        x = self.b.node("Add", [x, ca], name=f"{name}.res2")
        ln = c.b.node("LayerNormalization", [x, *self._ln(d, f"{name}.norm3")], name=f"{name}.norm3", axis=-1)
        # GEGLU (Shazeer 2020): one projection to 2 x 4d, GELU on the gate half
        hp = c.linear(ln, d, 8 * d, f"{name}.ff.proj", True)
        val, gate = c.split(hp, [4 * d, 4 * d], f"{name}.ff.split")
        h = self.b.node("Mul", [val, c.act(gate, f"{name}.ff.gelu", Activation.GELU)], name=f"{name}.ff.geglu")
        out: str = self.b.node("Add", [x, c.linear(h, 4 * d, d, f"{name}.ff.out", True)], name=f"{name}.res3")
        return out

    def _ln(self, d: int, name: str) -> tuple[str, str]:
        dt = self.wl.dtype
        return self.b.weight(f"{name}.weight", (d,), dt), self.b.weight(f"{name}.bias", (d,), dt)

    def transformer(self, x: str, ch: int, size: int, layers: int, heads: int, name: str) -> str:
        c = self.c
        h = c.group_norm(x, ch, self.u.norm_groups, f"{name}.norm", 1e-6)
        if self.u.linear_projection:
            h = c.linear(self._to_tokens(h, ch, size, name), ch, ch, f"{name}.proj_in", True)
        else:
            h = self._to_tokens(c.conv(h, ch, ch, 1, f"{name}.proj_in", bias=True), ch, size, name)
        for i in range(layers):
            h = self._block(h, ch, heads, f"{name}.blocks.{i}")
        if self.u.linear_projection:
            h = self._to_map(c.linear(h, ch, ch, f"{name}.proj_out", True), ch, size, f"{name}.out")
        else:
            h = c.conv(self._to_map(h, ch, size, f"{name}.out"), ch, ch, 1, f"{name}.proj_out", bias=True)
        out: str = self.b.node("Add", [h, x], name=f"{name}.residual")
        return out

    def upsample(self, x: str, ch: int, size: int, name: str) -> str:
        """Nearest x2 (F.interpolate), then a 3x3 conv."""
        sizes = self.b.ints(f"{name}.sizes", [self.batch, ch, 2 * size, 2 * size])
        up = self.b.node("Resize", [x, "", "", sizes], name=f"{name}.nearest", mode="nearest")
        return self.c.conv(up, ch, ch, 3, f"{name}.conv", bias=True)


def _time_embedding(n: _UNet, spec: ModelSpec) -> None:
    """Sinusoidal timestep features (no parameters: an input) through two Linear layers
    with SiLU between; SDXL adds the projected pooled text and size/crop conditions."""
    c, u = n.c, n.u
    ch0 = u.block_out_channels[0]
    n.temb_dim = u.time_embed_dim or 4 * ch0
    freq = n.b.input("t_freq", (n.batch, ch0), n.wl.dtype)
    t = c.linear(freq, ch0, n.temb_dim, "time_embedding.linear_1", True)
    t = c.linear(c.act(t, "time_embedding.silu", SILU), n.temb_dim, n.temb_dim, "time_embedding.linear_2", True)
    if u.addition_embed_dim:
        feats = n.b.input("add_time_features", (n.batch, u.addition_embed_dim), n.wl.dtype)
        a = c.linear(feats, u.addition_embed_dim, n.temb_dim, "add_embedding.linear_1", True)
        a = c.linear(c.act(a, "add_embedding.silu", SILU), n.temb_dim, n.temb_dim, "add_embedding.linear_2", True)
        t = n.b.node("Add", [t, a], name="add_emb")
    n.temb = t


def lower_unet(spec: ModelSpec, wl: Workload) -> list[Segment]:
    """One denoising step of a UNet2DConditionModel at the workload's batch."""
    n = _UNet(spec, wl, "unet")
    u, c, b = n.u, n.c, n.b
    levels = len(u.block_out_channels)
    size = spec.image_size
    x = b.input("latent", (wl.batch, spec.num_channels, size, size), wl.dtype)
    n.context = b.input("encoder_hidden_states", (wl.batch, u.context_len, u.cross_attention_dim), wl.dtype)
    _time_embedding(n, spec)
    ch = u.block_out_channels[0]
    x = c.conv(x, spec.num_channels, ch, 3, "conv_in", bias=True)
    skips: list[tuple[str, int]] = [(x, ch)]
    for i, out in enumerate(u.block_out_channels):
        for j in range(spec.num_layers):
            x = n.resnet(x, ch, out, f"down.{i}.resnets.{j}")
            ch = out
            if u.transformers[i]:
                x = n.transformer(x, ch, size, u.transformers[i], u.heads[i], f"down.{i}.attentions.{j}")
            skips.append((x, ch))
        if i < levels - 1:
            x = c.conv(x, ch, ch, 3, f"down.{i}.downsample", stride=2, bias=True)
            size //= 2
            skips.append((x, ch))
    x = n.resnet(x, ch, ch, "mid.resnets.0")
    x = n.transformer(x, ch, size, u.mid_transformers, u.heads[-1], "mid.attentions.0")
    x = n.resnet(x, ch, ch, "mid.resnets.1")
    rev = list(reversed(u.block_out_channels))
    for i, out in enumerate(rev):
        lvl = levels - 1 - i
        for j in range(spec.num_layers + 1):
            skip, sch = skips.pop()
            x = b.node("Concat", [x, skip], name=f"up.{i}.cat.{j}", axis=1)
            x = n.resnet(x, ch + sch, out, f"up.{i}.resnets.{j}")
            ch = out
            if u.transformers[lvl]:
                x = n.transformer(x, ch, size, u.transformers[lvl], u.heads[lvl], f"up.{i}.attentions.{j}")
        if i < levels - 1:
            x = n.upsample(x, ch, size, f"up.{i}.upsample")
            size *= 2
    x = c.act(c.group_norm(x, ch, u.norm_groups, "conv_norm_out"), "conv_act", SILU)
    b.output(c.conv(x, ch, u.out_channels or spec.num_channels, 3, "conv_out", bias=True))
    return [Segment("unet", b.build())]


def lower_vae_decoder(spec: ModelSpec, wl: Workload) -> list[Segment]:
    """AutoencoderKL's post_quant_conv and Decoder at the workload's batch: latents of
    image_size^2 to pixels of (image_size x 2^(levels - 1))^2."""
    n = _UNet(spec, wl, "vae_decoder")
    n.eps = 1e-6
    u, c, b = n.u, n.c, n.b
    size = spec.image_size
    lat = spec.num_channels
    x = b.input("latent", (wl.batch, lat, size, size), wl.dtype)
    x = c.conv(x, lat, lat, 1, "post_quant_conv", bias=True)
    ch = u.block_out_channels[-1]
    x = c.conv(x, lat, ch, 3, "conv_in", bias=True)
    x = n.resnet(x, ch, ch, "mid.resnets.0")
    # the mid block's single-head attention over every pixel: GroupNorm, q/k/v/out
    # Linear with biases, residual (diffusers Attention with residual_connection)
    h = c.group_norm(x, ch, u.norm_groups, "mid.attentions.0.group_norm", 1e-6)
    h = n._to_tokens(h, ch, size, "mid.attentions.0")
    h = n._attention(h, h, ch, ch, 1, "mid.attentions.0", bias=True)
    x = b.node("Add", [n._to_map(h, ch, size, "mid.attentions.0.out"), x], name="mid.attentions.0.residual")
    x = n.resnet(x, ch, ch, "mid.resnets.1")
    rev = list(reversed(u.block_out_channels))
    for i, out in enumerate(rev):
        for j in range(spec.num_layers + 1):
            x = n.resnet(x, ch, out, f"up.{i}.resnets.{j}")
            ch = out
        if i < len(rev) - 1:
            x = n.upsample(x, ch, size, f"up.{i}.upsample")
            size *= 2
    x = c.act(c.group_norm(x, ch, u.norm_groups, "conv_norm_out", 1e-6), "conv_act", SILU)
    b.output(c.conv(x, ch, u.out_channels or 3, 3, "conv_out", bias=True))
    return [Segment("vae_decoder", b.build())]


__all__ = ["lower_unet", "lower_vae_decoder"]
