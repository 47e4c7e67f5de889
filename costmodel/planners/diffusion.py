"""Diffusion sampling: the time and FLOPs of generating an image (or a video clip) with a
denoiser (a UNet or a DiT), its text encoder(s) and its VAE decoder.

    total = text encoders (once per prompt; the empty prompt too under guidance)
          + steps x (denoiser forward(s) + sampler update)
          + VAE decode (once per image or frame)

Classifier-free guidance (Ho & Salimans 2022) with a scale G > 1 evaluates the
denoiser on the conditional and the unconditional input every step: as one forward on
a doubled batch (diffusers concatenates them: "batch") or as two forwards ("passes");
G <= 1 runs one forward. The sampler's update per step is elementwise work on the
latent: the guidance combine u + G (c - u) (3 kernels) and a DDIM step (Song et al.
2021, eq. 12: x0 = (x - sqrt(1 - a) e) / sqrt(a), x' = sqrt(a') x0 + sqrt(1 - a') e, 6
kernels), lowered and timed like any graph.

Execution defaults to CUDA-graph replay, as compiled pipelines run the denoiser
(torch.compile, TensorRT); "eager" models plain diffusers, where a small denoiser at
batch 1 is bound by host dispatch, so guidance's doubled batch costs little.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..analysis import analyze_graph
from ..engine.latency import graph_latency
from ..errors import PlanError
from ..frontends.builder import GraphBuilder
from ..frontends.lower import Logits, Phase, Workload
from ..frontends.lower.vision import guided
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import Lowering
from ..ir.dtypes import dtype as to_dtype
from .workload import run_workload

CFG_MODES = ("batch", "passes")
DENOISERS = (Lowering.UNET, Lowering.DIFFUSION)


@dataclass(frozen=True, kw_only=True)
class DiffusionPlan:
    model: str
    hardware: str
    batch: int  # images (clips) generated together
    steps: int
    guidance_scale: float
    cfg: str  # "batch", "passes" or "off"
    forward_s: float  # one denoiser forward at the batch it runs (2 x batch under cfg "batch")
    forwards_per_step: int
    sampler_s: float  # per step
    text_encoder_s: float
    vae_decode_s: float
    denoiser_flops: float  # one forward
    fixed_flops: float  # text encoders + VAE decode
    frames: int = 0
    frame_rate: float = 0.0
    price_per_hour: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def step_s(self) -> float:
        return self.forwards_per_step * self.forward_s + self.sampler_s

    @property
    def total_s(self) -> float:
        return self.text_encoder_s + self.steps * self.step_s + self.vae_decode_s

    @property
    def per_sample_s(self) -> float:
        """Per image, or per clip for a video model."""
        return self.total_s / self.batch

    @property
    def flops_per_sample(self) -> float:
        return (self.steps * self.forwards_per_step * self.denoiser_flops + self.fixed_flops) / self.batch

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema_version": 1,
            "model": self.model,
            "hardware": self.hardware,
            "batch": self.batch,
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "cfg": self.cfg,
            "forward_s": self.forward_s,
            "forwards_per_step": self.forwards_per_step,
            "sampler_s": self.sampler_s,
            "step_s": self.step_s,
            "text_encoder_s": self.text_encoder_s,
            "vae_decode_s": self.vae_decode_s,
            "total_s": self.total_s,
            "per_image_s": self.per_sample_s / (self.frames or 1),
            "images_per_s": self.batch * (self.frames or 1) / self.total_s,
            "flops_per_image": self.flops_per_sample / (self.frames or 1),
            "notes": list(self.notes),
        }
        if self.frames:
            d.update(
                frames=self.frames,
                frame_rate=self.frame_rate,
                per_clip_s=self.per_sample_s,
                per_video_second_s=self.per_sample_s * self.frame_rate / self.frames if self.frame_rate else None,
            )
        if self.price_per_hour:
            d["usd_per_image"] = self.per_sample_s / (self.frames or 1) * self.price_per_hour / 3600
        return d


def _sampler_graph(batch: int, shape: tuple[int, ...], guidance: bool, act: Any) -> Any:
    b = GraphBuilder("sampler")
    lat = (batch, *shape)
    x = b.input("latent", lat, act)
    eps = b.input("eps_cond", lat, act)
    if guidance:
        unc = b.input("eps_uncond", lat, act)
        g = b.input("guidance_scale", (1,), act)
        eps = b.node("Add", [unc, b.node("Mul", [g, b.node("Sub", [eps, unc], name="cfg_diff")], name="cfg_scale")])
    coef = [b.input(f"coef{i}", (1,), act) for i in range(4)]
    x0 = b.node("Sub", [x, b.node("Mul", [coef[0], eps], name="ddim_noise")], name="ddim_sub")
    x0 = b.node("Mul", [x0, coef[1]], name="ddim_x0")
    nxt = b.node(
        "Add",
        [b.node("Mul", [coef[2], x0], name="ddim_dir_x0"), b.node("Mul", [coef[3], eps], name="ddim_dir_eps")],
        name="ddim_step",
    )
    b.output(nxt)
    return b.build()


def _run(spec: ModelSpec, batch: int, seq: int, hw: Any, dtype: Any, dispatch: str, mode: str) -> tuple[float, float]:
    r = run_workload(spec, Workload(Phase.FORWARD, batch, seq, 0, Logits.NONE, dtype), hw, dispatch=dispatch, mode=mode)
    return r.latency_s or 0.0, float(r.flops)


def plan_diffusion(
    spec: ModelSpec,
    system: Any,
    *,
    steps: int | None = None,
    guidance_scale: float | None = None,
    batch: int = 1,
    cfg: str = "batch",
    dtype: str = "fp16",
    dispatch: str = "graph",
    mode: str = "calibrated",
    frame_rate: float | None = None,
    price_per_hour: float | None = None,
) -> DiffusionPlan:
    """Sample `batch` images (clips) from `spec` on `system`; steps and guidance default
    to the spec's diffusion_steps and guidance_scale."""
    from ..frontends.builtin import get_spec

    if spec.arch.lowering not in DENOISERS:
        raise PlanError(f"{spec.name} is a {spec.architecture} model, not a diffusion denoiser (unet or dit)")
    if cfg not in CFG_MODES:
        raise PlanError(f"--cfg must be one of {', '.join(CFG_MODES)}, got {cfg!r}")
    steps = steps or spec.diffusion_steps
    if not steps or steps < 1:
        raise PlanError(f"{spec.name} gives no step count: pass --steps")
    if guidance_scale is None:
        guidance_scale = spec.guidance_scale or (1.5 if guided(spec) else 1.0)
    if guidance_scale < 0:
        raise PlanError(f"--guidance-scale must be >= 0, got {guidance_scale}")
    hw = system.device
    act = to_dtype(dtype)
    guide = guidance_scale > 1
    mode_cfg = cfg if guide else "off"
    fwd_batch = 2 * batch if mode_cfg == "batch" else batch
    forward_s, denoiser_flops = _run(spec, fwd_batch, 1, hw, act, dispatch, mode)
    forwards = 2 if mode_cfg == "passes" else 1
    frames = spec.num_frames
    size = spec.image_size
    lat = (spec.num_channels, size, size) if not frames else (frames, spec.num_channels, size, size)
    gs = analyze_graph(_sampler_graph(batch, lat, guide, act))
    sampler_s = graph_latency(gs, hw, mode=mode, execution=dispatch).latency_s
    text_s = fixed = 0.0
    notes = []
    prompts = 2 * batch if guide else batch
    for name in (n.strip() for n in spec.text_encoder.split(",") if n.strip()):
        te = get_spec(name)
        t, f = _run(te, prompts, te.max_position or 77, hw, act, dispatch, mode)
        text_s, fixed = text_s + t, fixed + f
    if spec.vae_decoder:
        vae = replace(get_spec(spec.vae_decoder), image_size=size)
        t, f = _run(vae, batch * (frames or 1), 1, hw, act, dispatch, mode)
        vae_s, fixed = t, fixed + f
    else:
        vae_s = 0.0
        notes.append("no VAE decoder named in the spec: the latent's decoding is not included")
    if not spec.text_encoder and spec.arch.lowering is Lowering.UNET:
        notes.append("no text encoder named in the spec: prompt encoding is not included")
    return DiffusionPlan(
        model=spec.name,
        hardware=hw.name,
        batch=batch,
        steps=steps,
        guidance_scale=guidance_scale,
        cfg=mode_cfg,
        forward_s=forward_s,
        forwards_per_step=forwards,
        sampler_s=sampler_s,
        text_encoder_s=text_s,
        vae_decode_s=vae_s,
        denoiser_flops=denoiser_flops,
        fixed_flops=fixed,
        frames=frames,
        frame_rate=frame_rate if frame_rate is not None else float(spec.frame_rate),
        price_per_hour=price_per_hour if price_per_hour is not None else hw.price_per_hour,
        notes=tuple(notes),
    )
