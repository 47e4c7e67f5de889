"""What an architecture is: one table read by spec validation, the Hugging Face import,
the lowering and the planners. Adding an architecture is one entry here (plus, for a new
kind of block, its lowering module); adding a Hugging Face model type of a known
architecture is one entry in `hf_config.MODEL_TYPES`.

An architecture says how a model is put together — which lowering builds it, what each
layer mixes tokens with, whether an MLP follows the mixer, whether attention is causal,
what a decode step carries from step to step — not the sizes or per-family details
(norms, biases, positions), which live in the spec (`records.ModelSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LayerKind(StrEnum):
    """What a layer mixes tokens with."""

    ATTENTION = "attention"
    MAMBA = "mamba"  # a selective state-space layer (Mamba-1 or Mamba-2, per the architecture)
    LINEAR = "linear"  # causal linear attention (Katharopoulos et al. 2020)
    RWKV = "rwkv"  # an RWKV-6 block (time mix + channel mix)
    CONV = "conv"  # convolution blocks (CNN stages, UNet levels)
    RGLRU = "rglru"  # Griffin's recurrent block: gated real-valued linear recurrence (De et al. 2024)


class Lowering(StrEnum):
    """Which lowering builds the model."""

    STACK = "stack"  # embedding, a stack of layers, final norm and head
    ENCODER_DECODER = "encoder-decoder"  # T5: encoder stack, decoder stack with cross-attention
    VISION = "vision"  # ViT: patch embedding, encoder stack, classification head
    DIFFUSION = "diffusion"  # DiT: one denoising step (adaLN-Zero blocks)
    CONVNET = "convnet"  # CNN classifier: stem, stages of residual blocks, pooled head
    UNET = "unet"  # diffusion UNet, one denoising step (ResNet + transformer blocks, skips)
    VAE_DECODER = "vae-decoder"  # latent diffusion's VAE decoder (latents -> pixels)


class DecodeState(StrEnum):
    """What a decode step carries over from the previous ones."""

    KV_CACHE = "kv-cache"  # attention keys and values, growing with the context
    RECURRENT = "recurrent"  # a fixed-size state (SSM / RWKV / linear attention)
    CROSS = "cross"  # decoder self-attention cache plus the encoder's cross-attention K/V
    NONE = "none"  # no autoregressive decode (encoders, ViT, DiT)


class Norm(StrEnum):
    RMSNORM = "rmsnorm"
    LAYERNORM = "layernorm"


class NormPosition(StrEnum):
    PRE = "pre"
    POST = "post"  # BERT: the norm follows each residual add


class MLPKind(StrEnum):
    GATED = "gated"  # act(x W_gate) * (x W_up), then W_down (GLU variants, Shazeer 2020)
    PLAIN = "plain"  # act(x W_up) W_down


class Head(StrEnum):
    """What the model computes on top of its last hidden states (Hugging Face: the class
    in config.json `architectures`, e.g. GPT2LMHeadModel, BertForPreTraining)."""

    AUTO = "auto"  # the architecture's usual one: LM for decoders / T5, none for encoders
    NONE = "none"  # the base model's hidden states (BertModel: with its pooler)
    LM = "lm"  # token logits over the vocabulary (causal or masked LM, seq2seq generation)
    PRETRAINING = "pretraining"  # BERT: masked-LM logits + next-sentence logits on the pooled [CLS]
    SEQUENCE_CLASSIFICATION = "sequence-classification"  # num_labels logits per sequence
    TOKEN_CLASSIFICATION = "token-classification"  # num_labels logits per position
    QUESTION_ANSWERING = "question-answering"  # start / end logits per position


class AttentionImpl(StrEnum):
    """How the model's code runs attention (Hugging Face `attn_implementation`)."""

    SDPA = "sdpa"  # one fused kernel (F.scaled_dot_product_attention, flash / memory-efficient)
    EAGER = "eager"  # explicit matmul, scale, mask, softmax, matmul: the scores go through memory


class Position(StrEnum):
    ROPE = "rope"
    LEARNED = "learned"
    ALIBI = "alibi"
    RELATIVE = "relative"  # T5 relative position buckets
    NONE = "none"


@dataclass(frozen=True, kw_only=True)
class Architecture:
    name: str
    lowering: Lowering
    mixer: LayerKind  # what every layer mixes with when the spec gives no layer_types
    layer_kinds: frozenset[LayerKind]  # kinds a spec's layer_types may use
    decode: DecodeState
    causal: bool = True
    mlp_after_mixer: bool = True  # an MLP (or MoE) follows the mixer in each layer
    needs_vocab: bool = True
    image_input: bool = False  # the input is an image / latent, not token ids
    ssm_version: int = 0  # Mamba generation of its mamba layers: 1 (Gu & Dao 2023), 2 (SSD)
    first_layer_norm: bool = False  # layer 0 normalises the embedding first (RWKV ln0)
    summary: str = ""
    heads: frozenset[Head] = frozenset({Head.AUTO, Head.NONE, Head.LM})  # heads a spec may ask for
    default_head: Head = Head.LM  # what AUTO means

    @property
    def patches(self) -> bool:
        """The input is cut into patches (ViT, DiT): image_size / patch_size tokens."""
        return self.lowering in (Lowering.VISION, Lowering.DIFFUSION)

    def kinds(self, layer_types: tuple[str, ...]) -> frozenset[LayerKind]:
        """The layer kinds a model of this architecture uses."""
        return frozenset(LayerKind(t) for t in layer_types) if layer_types else frozenset({self.mixer})

    @property
    def generates(self) -> bool:
        return self.decode is not DecodeState.NONE


_ALL = frozenset(LayerKind)
_ATT = frozenset({LayerKind.ATTENTION})

ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture(
            name="decoder",
            lowering=Lowering.STACK,
            mixer=LayerKind.ATTENTION,
            layer_kinds=_ATT,
            decode=DecodeState.KV_CACHE,
            summary="decoder-only transformer (GPT, Llama, Mistral, Gemma, DeepSeek ...)",
            heads=frozenset(Head) - {Head.PRETRAINING},
        ),
        Architecture(
            name="encoder",
            lowering=Lowering.STACK,
            mixer=LayerKind.ATTENTION,
            layer_kinds=_ATT,
            decode=DecodeState.NONE,
            causal=False,
            summary="bidirectional encoder (BERT)",
            heads=frozenset(Head),
            default_head=Head.NONE,
        ),
        Architecture(
            name="encoder-decoder",
            lowering=Lowering.ENCODER_DECODER,
            mixer=LayerKind.ATTENTION,
            layer_kinds=_ATT,
            decode=DecodeState.CROSS,
            summary="encoder-decoder transformer (T5)",
        ),
        Architecture(
            name="vit",
            lowering=Lowering.VISION,
            mixer=LayerKind.ATTENTION,
            layer_kinds=_ATT,
            decode=DecodeState.NONE,
            causal=False,
            needs_vocab=False,
            image_input=True,
            summary="vision transformer classifier (ViT)",
            heads=frozenset({Head.AUTO}),  # the image model's own head
            default_head=Head.NONE,
        ),
        Architecture(
            name="dit",
            lowering=Lowering.DIFFUSION,
            mixer=LayerKind.ATTENTION,
            layer_kinds=_ATT,
            decode=DecodeState.NONE,
            causal=False,
            needs_vocab=False,
            image_input=True,
            summary="diffusion transformer, one denoising step (DiT)",
            heads=frozenset({Head.AUTO}),  # the image model's own head
            default_head=Head.NONE,
        ),
        Architecture(
            name="mamba",
            lowering=Lowering.STACK,
            mixer=LayerKind.MAMBA,
            layer_kinds=frozenset({LayerKind.MAMBA}),
            decode=DecodeState.RECURRENT,
            mlp_after_mixer=False,
            ssm_version=1,
            summary="Mamba-1 selective state-space model",
        ),
        Architecture(
            name="mamba2",
            lowering=Lowering.STACK,
            mixer=LayerKind.MAMBA,
            layer_kinds=frozenset({LayerKind.MAMBA}),
            decode=DecodeState.RECURRENT,
            mlp_after_mixer=False,
            ssm_version=2,
            summary="Mamba-2 (state-space duality) model",
        ),
        Architecture(
            name="rwkv",
            lowering=Lowering.STACK,
            mixer=LayerKind.RWKV,
            layer_kinds=frozenset({LayerKind.RWKV}),
            decode=DecodeState.RECURRENT,
            mlp_after_mixer=False,  # the RWKV block carries its own channel mix
            first_layer_norm=True,
            summary="RWKV-6 'Finch' recurrent model",
        ),
        Architecture(
            name="linear-attention",
            lowering=Lowering.STACK,
            mixer=LayerKind.LINEAR,
            layer_kinds=frozenset({LayerKind.LINEAR}),
            decode=DecodeState.RECURRENT,
            summary="causal linear-attention transformer",
        ),
        Architecture(
            name="hybrid",
            lowering=Lowering.STACK,
            mixer=LayerKind.ATTENTION,
            layer_kinds=_ALL,
            decode=DecodeState.KV_CACHE,
            ssm_version=1,  # Jamba's Mamba layers are Mamba-1 (Lieber et al. 2024, sec. 2)
            summary="layers of different kinds (layer_types), e.g. Jamba: attention + Mamba",
        ),
        Architecture(
            name="griffin",
            lowering=Lowering.STACK,
            mixer=LayerKind.RGLRU,
            layer_kinds=frozenset({LayerKind.RGLRU, LayerKind.ATTENTION}),
            decode=DecodeState.KV_CACHE,  # local attention: a cache capped at the sliding window
            summary="Griffin / Hawk (De et al. 2024): RG-LRU recurrent blocks, with local attention "
            "layers (layer_types) for Griffin and RecurrentGemma",
        ),
        Architecture(
            name="retnet",
            lowering=Lowering.STACK,
            mixer=LayerKind.LINEAR,
            layer_kinds=frozenset({LayerKind.LINEAR}),
            decode=DecodeState.RECURRENT,
            summary="RetNet (Sun et al. 2023): multi-scale retention (decayed linear attention, "
            "chunkwise in prefill, recurrent in decode)",
        ),
        Architecture(
            name="cnn",
            lowering=Lowering.CONVNET,
            mixer=LayerKind.CONV,
            layer_kinds=frozenset({LayerKind.CONV}),
            decode=DecodeState.NONE,
            causal=False,
            mlp_after_mixer=False,
            needs_vocab=False,
            image_input=True,
            summary="convolutional classifier (ResNet, MobileNetV2, FasterNet): the cnn block",
        ),
        Architecture(
            name="unet",
            lowering=Lowering.UNET,
            mixer=LayerKind.CONV,
            layer_kinds=frozenset({LayerKind.CONV}),
            decode=DecodeState.NONE,
            causal=False,
            mlp_after_mixer=False,
            needs_vocab=False,
            image_input=True,
            summary="diffusion UNet, one denoising step (Stable Diffusion 1.x / XL): the unet block",
        ),
        Architecture(
            name="vae-decoder",
            lowering=Lowering.VAE_DECODER,
            mixer=LayerKind.CONV,
            layer_kinds=frozenset({LayerKind.CONV}),
            decode=DecodeState.NONE,
            causal=False,
            mlp_after_mixer=False,
            needs_vocab=False,
            image_input=True,
            summary="latent-diffusion VAE decoder (latents -> image): the unet block",
        ),
    )
}


def architecture(name: str) -> Architecture:
    """The entry for a validated spec's architecture (KeyError for an unknown name)."""
    return ARCHITECTURES[name]
