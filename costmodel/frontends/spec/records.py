"""The model-spec records: sizes and per-family facts of one model, frozen and validated
(`coerce.spec_from_dict`). What the architecture itself means lives in
`architectures.ARCHITECTURES`; these records only say which one and with what sizes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...ir.activations import Activation
from .architectures import (
    ARCHITECTURES,
    Architecture,
    AttentionImpl,
    Head,
    LayerKind,
    MLPKind,
    Norm,
    NormPosition,
    Position,
)


@dataclass(frozen=True)
class MoESpec:
    num_experts: int
    top_k: int
    expert_intermediate_size: int
    num_shared_experts: int = 0
    shared_intermediate_size: int = 0  # total width of the shared expert MLP(s)
    shared_expert_gate: bool = False  # Qwen2-MoE: sigmoid gate d -> 1 on the shared expert
    first_dense_layers: int = 0  # DeepSeek first_k_dense_replace
    layer_freq: int = 1  # every layer_freq-th layer (after the dense ones) is MoE
    router_bias: bool = False  # one bias per expert: DeepSeek-V3 e_score_correction_bias, Switch router bias
    expert_parallel: int = 1  # the expert-parallel degree the planners use unless told otherwise


@dataclass(frozen=True)
class MLASpec:
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    q_lora_rank: int = 0  # 0: q is projected directly from the hidden state


@dataclass(frozen=True)
class SSMSpec:
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int = 0  # 0: ceil(hidden / 16) (Mamba-1 default)
    headdim: int = 64  # Mamba-2
    ngroups: int = 1  # Mamba-2
    chunk_size: int = 256  # Mamba-2 SSD chunk
    conv_bias: bool = True
    proj_bias: bool = False
    version: int = 0  # 1 Mamba-1, 2 Mamba-2; 0: the architecture's (mamba 1, mamba2 2, hybrid 1)


@dataclass(frozen=True)
class RWKVSpec:
    head_size: int = 64
    time_mix_extra_dim: int = 32  # LoRA rank of the five data-dependent token-shift mixes
    time_decay_extra_dim: int = 64  # LoRA rank of the data-dependent decay


@dataclass(frozen=True)
class LinearSpec:
    """Linear-attention layers (Katharopoulos et al. 2020) and RetNet's retention (Sun et
    al. 2023: a per-head decay, values `value_factor` x wider than keys, a swish output
    gate and a per-head norm). `chunk_size` > 0 computes a prefill chunkwise (attention
    inside each chunk, the state carried between chunks: the form training and prefill
    kernels use); 0: the token-by-token recurrence."""

    chunk_size: int = 0
    decay: bool = False
    value_factor: int = 1
    output_gate: bool = False
    head_norm: bool = False


@dataclass(frozen=True)
class RGLRUSpec:
    """Griffin's recurrent block (De et al. 2024, sec. 2.4; HF RecurrentGemmaRecurrentBlock):
    two branches of width lru_width (0: hidden_size), GELU on one, a causal depthwise
    conv1d of conv_width and the RG-LRU on the other; block-diagonal recurrence and input
    gates with `heads` blocks (0: num_heads); biases on the projections."""

    lru_width: int = 0
    conv_width: int = 4
    heads: int = 0


@dataclass(frozen=True)
class CNNSpec:
    """A convolutional network as stages of one block kind (lower/conv.py):
    `basic` / `bottleneck` residual blocks (He et al. 2016; torchvision v1.5 strides the
    3x3), `inverted-residual` (MobileNetV2, Sandler et al. 2018: expand 1x1, depthwise
    3x3, project 1x1) or `fasternet` (Chen et al. 2023: PConv on 1/partial_ratio of the
    channels, then a 1x1 MLP of `expansion` x width)."""

    block: str = "bottleneck"
    depths: tuple[int, ...] = ()  # blocks per stage
    widths: tuple[int, ...] = ()  # output channels per stage
    strides: tuple[int, ...] = ()  # first block's stride per stage (default 1, then 2s)
    stem: str = (
        "resnet"  # resnet: 7x7/2 conv, BN, act, 3x3/2 max pool (to hidden_size channels); patch: k x k / k conv, BN
    )
    stem_kernel: int = 4  # patch stem: kernel = stride
    expansion: int = 4  # bottleneck: width / inner width; inverted-residual, fasternet: MLP width / width
    partial_ratio: int = 4  # fasternet: the 3x3 PConv sees channels / partial_ratio
    merge_kernel: int = 2  # fasternet: patch-merging conv between stages (kernel = stride)
    head_width: int = 0  # a 1x1 conv after pooling before the classifier (FasterNet 1280); 0: none
    head_bias: bool = True  # classifier bias


@dataclass(frozen=True)
class UNetSpec:
    """A diffusion UNet (Rombach et al. 2022; diffusers UNet2DConditionModel): per level
    `layers` ResNet blocks with `transformers[level]` transformer layers after each
    (0: none), down-sampling between levels, a mid block, and the mirrored up path with
    skip concatenation. The VAE decoder uses the same blocks without time or text."""

    block_out_channels: tuple[int, ...] = ()
    transformers: tuple[int, ...] = ()  # transformer layers per block at each level (0: no attention)
    heads: tuple[int, ...] = ()  # attention heads at each level
    mid_transformers: int = 1
    cross_attention_dim: int = 768
    context_len: int = 77  # text tokens cross-attended (the text encoder's length)
    norm_groups: int = 32
    linear_projection: bool = False  # proj_in / proj_out as Linear (SDXL) instead of 1x1 conv
    time_embed_dim: int = 0  # 0: 4 x block_out_channels[0]
    addition_embed_dim: int = 0  # SDXL text_time: pooled text + 6 size/crop conditions projected
    addition_time_dim: int = 256  # SDXL: sinusoidal features per size/crop condition
    out_channels: int = 0  # 0: num_channels


@dataclass(frozen=True)
class ModelSpec:
    name: str
    architecture: str  # a key of architectures.ARCHITECTURES
    hidden_size: int
    num_layers: int
    vocab_size: int = 0
    num_heads: int = 0
    num_kv_heads: int = 0
    head_dim: int = 0
    intermediate_size: int = 0
    mlp: MLPKind = MLPKind.GATED
    activation: Activation = Activation.SILU
    norm: Norm = Norm.RMSNORM
    norm_bias: bool = True  # layernorm with a bias
    norm_position: NormPosition = NormPosition.PRE
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    lm_head_bias: bool = False
    tie_embeddings: bool = False
    position: Position = Position.ROPE
    max_position: int = 0
    position_offset: int = 0  # OPT keeps 2 extra learned positions
    token_types: int = 0  # BERT type vocabulary
    embedding_norm: bool = False  # BLOOM word_embeddings_layernorm, BERT embeddings LN
    parallel_block: bool = False  # attention and MLP read the same input (GPT-J, NeoX)
    shared_block_norm: bool = False  # parallel block with one norm (GPT-J, Falcon-7B)
    sandwich_norms: bool = False  # extra norms after attention and MLP (Gemma-2)
    qk_norm: bool = False  # per-head RMSNorm on q and k (Qwen3, OLMo-2)
    final_norm: bool = True
    pooler: bool = False  # BERT pooler (d x d + bias): the base model's, used by the heads that read it
    head: Head = Head.AUTO  # what runs on the last hidden states (architectures.Head)
    num_labels: int = 2  # classification heads (Hugging Face's default num_labels)
    lm_transform: bool = False  # BERT LM head: dense + activation + LayerNorm before the decoder
    attn_implementation: AttentionImpl = AttentionImpl.SDPA  # fused kernel, or eager matmul/softmax
    activation_formula: str = ""  # a transformers activation written as a Python formula (gelu_new ...)
    sliding_window: int = 0  # keys a sliding-window layer attends, the query's own included
    global_every: int = 0  # with sliding_window: every N-th layer is global
    layer_types: tuple[str, ...] = ()  # per layer, a LayerKind the architecture allows
    fused_qkv: bool = True  # one QKV GEMM (serving engines fuse; params unchanged)
    fused_gate_up: bool = True
    num_decoder_layers: int = 0  # encoder-decoder
    relative_buckets: int = 0  # T5 relative attention buckets (layer 0 of each stack)
    image_size: int = 0  # ViT / DiT (DiT: latent size)
    patch_size: int = 0
    num_channels: int = 3
    num_classes: int = 0
    class_token: bool = True
    diffusion_steps: int = 0  # DiT: denoising steps per sample (the sampler's, 0: not given)
    learn_sigma: bool = True  # DiT: output channels doubled
    guidance: bool = True  # DiT: classifier-free guidance runs each step on a doubled batch
    guidance_scale: float = 0.0  # diffusion: the sampler's default classifier-free guidance scale (0: not given)
    num_frames: int = 0  # video DiT (Latte): frames per clip; blocks alternate spatial and temporal attention
    frame_rate: int = 0  # video: frames per second of the generated clip
    text_encoder: str = ""  # diffusion: built-in spec(s) of the text encoder(s), comma-separated
    vae_decoder: str = ""  # diffusion: built-in spec of the VAE decoder
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    ssm: SSMSpec | None = None
    rwkv: RWKVSpec | None = None
    linear: LinearSpec | None = None
    rglru: RGLRUSpec | None = None
    cnn: CNNSpec | None = None
    unet: UNetSpec | None = None
    source: str = ""
    notes: str = ""

    @property
    def arch(self) -> Architecture:
        return ARCHITECTURES[self.architecture]

    @property
    def kv_heads(self) -> int:
        return self.num_kv_heads or self.num_heads

    @property
    def hd(self) -> int:
        return self.head_dim or (self.hidden_size // self.num_heads if self.num_heads else 0)

    def layer_kind(self, i: int) -> LayerKind:
        return LayerKind(self.layer_types[i]) if self.layer_types else self.arch.mixer

    def is_moe_layer(self, i: int) -> bool:
        m = self.moe
        if m is None or i < m.first_dense_layers:
            return False
        return (i - m.first_dense_layers) % m.layer_freq == 0 if m.layer_freq > 1 else True

    def is_sliding(self, i: int) -> bool:
        if not self.sliding_window or self.layer_kind(i) is not LayerKind.ATTENTION:
            return False
        if self.global_every:
            return (i + 1) % self.global_every != 0
        return True

    def representative_layer(self, i: int) -> int:
        """A layer with the same mixer kind, MoE/dense choice, window and first-layer norm
        as layer i, among the first `offset + period` layers: the stack is periodic after
        layer max(1, first dense layers) with the period lcm(MoE layer frequency, global
        every), so planners ask the spec once per distinct layer, not once per layer.
        An explicit `layer_types` list is its own representative."""
        if self.layer_types:
            return i
        offset, period = self.layer_cycle()
        if i < offset:
            return i
        return offset + (i - offset) % period

    def layer_cycle(self) -> tuple[int, int]:
        """(offset, period) of representative_layer: layers from `offset` on repeat with
        `period` (without an explicit `layer_types` list)."""
        m = self.moe
        offset = max(1, m.first_dense_layers if m is not None else 0)
        period = m.layer_freq if m is not None and m.layer_freq > 1 else 1
        if self.sliding_window and self.global_every:
            period = math.lcm(period, self.global_every)
        return offset, period

    @property
    def resolved_head(self) -> Head:
        """The head, AUTO replaced by the architecture's usual one."""
        return self.arch.default_head if self.head is Head.AUTO else self.head

    def ssm_version(self) -> int:
        return (self.ssm.version if self.ssm is not None and self.ssm.version else 0) or self.arch.ssm_version

    def moe_layers(self) -> int:
        """Routed layers in every stack (an encoder-decoder's decoder stack counts too)."""
        stacks = (self.num_layers, self.num_decoder_layers) if self.num_decoder_layers else (self.num_layers,)
        moe: dict[int, bool] = {}
        count = 0
        for n in stacks:
            for i in range(n):
                r = self.representative_layer(i)
                if r not in moe:
                    moe[r] = self.is_moe_layer(r)
                count += moe[r]
        return count


NESTED: dict[str, type] = {
    "moe": MoESpec,
    "mla": MLASpec,
    "ssm": SSMSpec,
    "rwkv": RWKVSpec,
    "linear": LinearSpec,
    "rglru": RGLRUSpec,
    "cnn": CNNSpec,
    "unet": UNetSpec,
}
