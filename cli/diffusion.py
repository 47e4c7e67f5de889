"""`costmodel diffusion MODEL --steps N --guidance-scale G --hardware H`: time and
FLOPs per generated image (or per second of video) for a diffusion model."""

from __future__ import annotations

import argparse

from .common import (
    MAX_DIFFUSION_STEPS,
    MAX_FRAME_RATE,
    MAX_GUIDANCE,
    Subparsers,
    add_report_output,
    add_spec_limits,
    batch_size,
    bounded_float,
    bounded_int,
    emit,
    price,
    report_format,
)


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "diffusion",
        help="diffusion sampling: time and FLOPs per image or per second of video",
        description="Denoising steps x (the denoiser's forward, doubled under classifier-free guidance, plus "
        "the sampler's update), the text encoder(s) and the VAE decoder: per image (per clip and per second "
        "of video for video models). Steps and guidance default to the spec's diffusion_steps and "
        "guidance_scale.",
    )
    p.add_argument(
        "model", help="a diffusion denoiser: built-in (sd-1.5-unet, sdxl-unet, dit-xl-2, latte-xl-2) or spec"
    )
    p.add_argument("--hardware", "-H", required=True, help="hardware profile name or file")
    p.add_argument(
        "--steps",
        type=bounded_int(1, MAX_DIFFUSION_STEPS, "steps"),
        help="denoising steps (default: the spec's diffusion_steps)",
    )
    p.add_argument(
        "--guidance-scale",
        type=bounded_float(0.0, MAX_GUIDANCE),
        help="classifier-free guidance scale; above 1 runs the unconditional input too (default: the spec's)",
    )
    p.add_argument(
        "--cfg",
        choices=("batch", "passes"),
        default="batch",
        help="guidance as one forward on a doubled batch (default, as diffusers) or two forwards",
    )
    p.add_argument("--batch", type=batch_size, default=1, help="images (clips) generated together")
    p.add_argument("--dtype", default="fp16", help="compute dtype (default fp16)")
    p.add_argument(
        "--execution",
        choices=("graph", "eager"),
        default="graph",
        help="graph (default): CUDA-graph replay, as compiled pipelines (torch.compile, TensorRT) run; "
        "eager: plain diffusers, host dispatch per op",
    )
    p.add_argument("--mode", choices=("calibrated", "ideal"), default="calibrated")
    p.add_argument(
        "--frame-rate",
        type=bounded_float(0.0, MAX_FRAME_RATE, "frames/s", low_open=True),
        help="video models: frames per second (default: the spec's)",
    )
    p.add_argument("--price-per-hour", type=price, help="USD per device-hour (adds cost per image)")
    add_report_output(p)
    add_spec_limits(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from costmodel.errors import CostModelError
    from costmodel.frontends import load_model_spec
    from costmodel.hardware.systems import get_system
    from costmodel.planners.diffusion import plan_diffusion

    fmt = report_format(args)
    spec = load_model_spec(args.model)
    if spec is None:
        raise CostModelError(f"{args.model!r} is not a model spec, config.json or built-in model name")
    plan = plan_diffusion(
        spec,
        get_system(args.hardware),
        steps=args.steps,
        guidance_scale=args.guidance_scale,
        batch=args.batch,
        cfg=args.cfg,
        dtype=args.dtype,
        dispatch=args.execution,
        mode=args.mode,
        frame_rate=args.frame_rate,
        price_per_hour=args.price_per_hour,
    )
    from costmodel.report.diffusion_report import diffusion_document

    emit(diffusion_document(plan.to_dict()), args, fmt)
    return 0
