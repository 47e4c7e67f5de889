"""CNNs and diffusion networks written in the spec language: published parameter and
multiply-add counts (ResNet-50, FasterNet-T0, Stable Diffusion 1.5 / XL UNets, DiT,
Latte), and the spec checks for the cnn and unet blocks."""

from __future__ import annotations

import json

import pytest

from costmodel.errors import SpecError
from costmodel.frontends.spec import spec_from_dict
from costmodel_cli.main import main


def analyze(capsys, name: str) -> dict:
    rc = main(["analyze", name, "--set", "batch=1", "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    d = json.loads(out)
    assert d["unsupported"] == []
    return d


def test_resnet50_exact(capsys):
    # torchvision resnet50 IMAGENET1K_V1 meta (anchors.md): 25,557,032 params (BatchNorm's
    # running statistics are buffers, not parameters), 4,089,184,256 MACs at 224x224
    d = analyze(capsys, "resnet-50")
    assert d["params"] == 25_557_032 and d["macs"] == 4_089_184_256


def test_fasternet_t0_by_hand_and_published(capsys):
    """Chen et al. 2023: 3.9M params, 0.34G FLOPs (multiply-adds). By hand: patch embed
    3x40x16 + BN 80; a block of width w: PConv (w/4)^2 x 9, 1x1 w -> 2w, BN 4w, 1x1 2w -> w;
    merges 2x2 w -> 2w + BN; head 320 x 1280 and fc 1280 x 1000 + 1000."""

    def block(w: int) -> int:
        return (w // 4) ** 2 * 9 + 2 * w * w + 4 * w + 2 * w * w

    params = (
        3 * 40 * 16
        + 80
        + block(40)
        + 2 * block(80)
        + 8 * block(160)
        + 2 * block(320)
        + sum(w * 2 * w * 4 + 4 * w for w in (40, 80, 160))
        + 320 * 1280
        + 1280 * 1000
        + 1000
    )
    assert params == 3_905_500
    # MACs: embed 56^2 x 1920; a block at h^2 pixels costs h^2 (block weights less BN); merges
    macs = (
        56**2 * 1920
        + 56**2 * (block(40) - 160)
        + 2 * 28**2 * (block(80) - 320)
        + 8 * 14**2 * (block(160) - 640)
        + 2 * 7**2 * (block(320) - 1280)
        + 28**2 * 40 * 80 * 4
        + 14**2 * 80 * 160 * 4
        + 7**2 * 160 * 320 * 4
        + 320 * 1280
        + 1280 * 1000
    )
    d = analyze(capsys, "fasternet-t0")
    assert d["params"] == params and d["macs"] == macs
    assert d["params"] == pytest.approx(3.9e6, rel=0.03) and d["macs"] == pytest.approx(0.34e9, rel=0.03)


@pytest.mark.parametrize(
    "name, params",
    [
        ("sd-1.5-unet", 859_520_964),  # stable-diffusion-v1-5 unet
        ("sdxl-unet", 2_567_463_684),  # stable-diffusion-xl-base-1.0 unet
        ("clip-vit-l-text", 123_060_480),  # openai/clip-vit-large-patch14 text model
    ],
)
def test_published_parameters_exact(capsys, name, params):
    assert analyze(capsys, name)["params"] == params


def test_dit_and_latte(capsys):
    d = analyze(capsys, "dit-xl-2")
    # Peebles & Xie 2023, Table 1 / 4: 675M params, 118.6 Gflops (multiply-adds) at 256x256
    assert d["params"] == pytest.approx(675e6, rel=0.01) and d["macs"] == pytest.approx(118.6e9, rel=0.01)
    v = analyze(capsys, "latte-xl-2")
    # Ma et al. 2024: Latte-XL 673.68M params; 16 frames, each block over all frames
    assert v["params"] == pytest.approx(673.68e6, rel=0.01)
    # the spatial blocks alone cost 14/28 of 16 DiT-XL/2 forwards' blocks: the clip costs
    # more than 8 image forwards and less than 20 (temporal attention over 16 frames is cheap)
    assert 8 * d["macs"] < v["macs"] < 20 * d["macs"]


def cnn(**kw) -> dict:
    base = {
        "name": "t",
        "architecture": "cnn",
        "hidden_size": 16,
        "num_layers": 2,
        "image_size": 32,
        "num_classes": 10,
        "cnn": {"block": "basic", "depths": [1, 1], "widths": [16, 32]},
    }
    base.update(kw)
    return base


def test_small_cnn_blocks_lower(capsys, tmp_path):
    """ResNet-18-style basic blocks by hand at 32x32: stem 7x7/2 3->16 (16x16), pool (8x8);
    stage 0: two 3x3 16->16 at 8x8; stage 1 (stride 2, 4x4): 3x3 16->32, 3x3 32->32 and
    a 1x1 16->32 shortcut; fc 32 x 10."""
    p = tmp_path / "r.json"
    p.write_text(json.dumps(cnn()))
    d = analyze(capsys, str(p))
    macs = 16**2 * 16 * 3 * 49 + 2 * 8**2 * 16 * 16 * 9 + 4**2 * (32 * 16 * 9 + 32 * 32 * 9 + 32 * 16) + 320
    assert d["macs"] == macs
    mb = cnn(cnn={"block": "inverted-residual", "depths": [1, 1], "widths": [16, 24], "expansion": 6})
    p.write_text(json.dumps(mb))
    assert analyze(capsys, str(p))["macs"] > 0


@pytest.mark.parametrize(
    "change, match",
    [
        ({"num_layers": 3}, "num_layers"),
        ({"cnn": {"block": "dense", "depths": [1], "widths": [8]}}, "block"),
        ({"cnn": {"block": "basic", "depths": [1, 1], "widths": [8]}}, "one entry per stage"),
        ({"cnn": {"block": "basic", "depths": [1, 1], "widths": [8, -1]}}, "integers"),
        ({"cnn": None}, "cnn block"),
        ({"num_frames": 4}, "num_frames"),
    ],
)
def test_cnn_spec_errors(change, match):
    with pytest.raises(SpecError, match=match):
        spec_from_dict(cnn(**change))


def test_unet_spec_errors():
    good = {
        "name": "u",
        "architecture": "unet",
        "hidden_size": 32,
        "num_layers": 1,
        "image_size": 8,
        "num_channels": 4,
        "unet": {"block_out_channels": [32, 64], "transformers": [1, 0], "heads": [2, 2], "norm_groups": 8},
    }
    spec_from_dict(good)
    bad = dict(good, unet=dict(good["unet"], heads=[3, 2]))
    with pytest.raises(SpecError, match="heads"):
        spec_from_dict(bad)
    with pytest.raises(SpecError, match="hidden_size"):
        spec_from_dict(dict(good, hidden_size=64))
