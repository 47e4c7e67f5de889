"""`costmodel diffusion`: steps, classifier-free guidance, sampler, text encoder and VAE
decode per image; per second of video for video models."""

from __future__ import annotations

import json

import pytest

from costmodel_cli.main import main


def run_json(capsys, *argv) -> dict:
    rc = main(["diffusion", *argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def test_steps_and_guidance_scale_cost(capsys):
    at = {s: run_json(capsys, "sd-1.5-unet", "-H", "h100", "--steps", str(s)) for s in (25, 50)}
    assert at[25]["steps"] == 25 and at[50]["steps"] == 50
    # fixed text-encoder and VAE work aside, twice the steps is twice the time
    assert 1.7 <= at[50]["per_image_s"] / at[25]["per_image_s"] <= 2.0
    fixed = at[50]["text_encoder_s"] + at[50]["vae_decode_s"]
    assert at[50]["per_image_s"] - fixed == pytest.approx(2 * (at[25]["per_image_s"] - fixed))
    none = run_json(capsys, "sd-1.5-unet", "-H", "h100", "--steps", "50", "--guidance-scale", "1")
    cfg = run_json(capsys, "sd-1.5-unet", "-H", "h100", "--steps", "50", "--guidance-scale", "7.5")
    assert none["cfg"] == "off" and cfg["cfg"] == "batch"
    assert cfg["per_image_s"] >= 1.3 * none["per_image_s"]


def test_the_parts_add_up(capsys):
    d = run_json(capsys, "sd-1.5-unet", "-H", "a100", "--steps", "20", "--batch", "2", "--cfg", "passes")
    assert d["forwards_per_step"] == 2 and d["step_s"] == pytest.approx(2 * d["forward_s"] + d["sampler_s"])
    total = d["text_encoder_s"] + 20 * d["step_s"] + d["vae_decode_s"]
    assert d["total_s"] == pytest.approx(total) and d["per_image_s"] == pytest.approx(total / 2)
    assert d["text_encoder_s"] > 0 and d["vae_decode_s"] > 0 and d["sampler_s"] > 0
    # one UNet forward at batch 2 (two passes of one image each at batch 2) is no faster
    # than its FLOPs at the A100's dense fp16 peak (312 TFLOP/s): 2 x 0.8 TFLOP
    assert d["forward_s"] >= 2 * 2 * 401_636_720_640 / 312e12


def test_spec_defaults_feed_the_command(capsys):
    d = run_json(capsys, "sd-1.5-unet", "-H", "h100")
    assert d["steps"] == 50 and d["guidance_scale"] == 7.5  # the spec's diffusion_steps / guidance_scale
    dit = run_json(capsys, "dit-xl-2", "-H", "h100")
    assert dit["steps"] == 250 and dit["guidance_scale"] == 1.5 and dit["cfg"] == "batch"


def test_video_per_second(capsys):
    d = run_json(capsys, "latte-xl-2", "-H", "h100", "--steps", "50")
    assert d["frames"] == 16 and d["frame_rate"] == 8
    assert d["per_video_second_s"] == pytest.approx(d["per_clip_s"] * 8 / 16)
    assert d["per_image_s"] == pytest.approx(d["per_clip_s"] / 16)
    faster = run_json(capsys, "latte-xl-2", "-H", "h100", "--steps", "50", "--frame-rate", "16")
    assert faster["per_video_second_s"] == pytest.approx(d["per_video_second_s"] * 2)


def test_not_a_denoiser_is_exit_2(capsys):
    assert main(["diffusion", "llama-3.2-1b", "-H", "h100"]) == 2
    assert "not a diffusion denoiser" in capsys.readouterr().err
