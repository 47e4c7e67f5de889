"""`costmodel diffusion` as a report Document: per image (clip, video second), the
step's parts, and where the time goes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Column, Document, Field, KeyValues, Notes, Section, Table, fraction, integral


def diffusion_document(d: Mapping[str, Any]) -> Document:
    data = dict(d)
    data["flops_per_image"] = integral(data["flops_per_image"])
    f = [
        Field("model", "model", d["model"]),
        Field("hardware", "hardware", d["hardware"]),
        Field("batch", "generated together", d["batch"], "count"),
        Field("steps", "denoising steps", d["steps"], "count"),
        Field("guidance_scale", "guidance scale", d["guidance_scale"], "number"),
        Field("cfg", "classifier-free guidance", d["cfg"]),
        Field("per_image_s", "time per image" if "frames" not in d else "time per frame", d["per_image_s"], "seconds"),
    ]
    if "frames" in d:
        f += [
            Field("frames", "frames per clip", d["frames"], "count"),
            Field("per_clip_s", "time per clip", d["per_clip_s"], "seconds"),
            Field("frame_rate", "frame rate", d["frame_rate"], "number", "fps"),
        ]
        if d.get("per_video_second_s") is not None:
            f.append(Field("per_video_second_s", "time per second of video", d["per_video_second_s"], "seconds"))
    f += [
        Field("images_per_s", "images per second", d["images_per_s"], "number"),
        Field("flops_per_image", "FLOPs per image", data["flops_per_image"], "count", "FLOP"),
        Field("forward_s", "denoiser forward", d["forward_s"], "seconds"),
        Field("step_s", "step (forwards + sampler)", d["step_s"], "seconds"),
    ]
    if "usd_per_image" in d:
        f.append(Field("usd_per_image", "cost per image", d["usd_per_image"], "usd"))
    total = d["total_s"]
    parts = (
        ("text encoder(s)", d["text_encoder_s"]),
        ("denoiser forwards", d["steps"] * d["forwards_per_step"] * d["forward_s"]),
        ("sampler updates", d["steps"] * d["sampler_s"]),
        ("VAE decode", d["vae_decode_s"]),
    )
    t = Table(
        "parts",
        "where the time goes (whole batch)",
        (
            Column("part", "part", "text", 0),
            Column("time_s", "time", "seconds", 0),
            Column("share", "share", "percent", 1),
        ),
        tuple((name, v, fraction(v, total)) for name, v in parts),
    )
    blocks: list[Any] = [KeyValues("diffusion", "diffusion sampling", tuple(f)), t]
    notes = [
        "total = text encoders + steps x (forwards + sampler update) + VAE decode; guidance above 1 runs "
        "the unconditional input each step (Ho & Salimans 2022).",
        *d.get("notes", ()),
    ]
    blocks.append(Notes("notes", "method", tuple(notes)))
    return Document("costmodel diffusion", "diffusion", (Section("diffusion", tuple(blocks)),), data)
