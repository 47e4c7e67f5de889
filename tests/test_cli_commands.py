"""CLI commands end to end (in process): exit codes, JSON on stdout, one-line errors."""

from __future__ import annotations

import json

import pytest

from costmodel_cli.main import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_llm_json(capsys):
    rc, out, err = run(
        capsys,
        "llm",
        "llama-3.2-1b",
        "--hardware",
        "h200",
        "--batch",
        "2",
        "--prompt-len",
        "128",
        "--output-len",
        "4",
        "--format",
        "json",
    )
    assert rc == 0 and err == ""
    d = json.loads(out)
    assert d["params"] == 1_235_814_400 and d["decode"]["latency_s"] > 0


def test_train_json(capsys):
    rc, out, _ = run(
        capsys,
        "train",
        "gpt-2",
        "--hardware",
        "h200",
        "--gpus",
        "1",
        "--batch",
        "8",
        "--seq-len",
        "1024",
        "--tokens",
        "1e9",
        "--format",
        "json",
    )
    d = json.loads(out)
    assert rc == 0 and {"step", "mfu", "memory", "training"} <= set(d)
    assert set(d["memory"]) >= {"weights_bytes", "grads_bytes", "optimizer_bytes", "activation_bytes", "total_bytes"}


@pytest.mark.parametrize(
    "argv",
    [
        ("llm", "llama-3-8b", "--hardware", "h100", "--batch", "0"),
        ("llm", "llama-3-8b", "--hardware", "h1OO"),
        (
            "train",
            "llama-3-8b",
            "--hardware",
            "dgx-h100",
            "--gpus",
            "12",
            "--batch",
            "8",
            "--seq-len",
            "512",
            "--tp",
            "8",
        ),
        ("analyze", "/no/such/file.onnx"),
        ("analyze", "costmodel/examples/resnet50.onnx", "--set", "batch=x"),
        ("hardware", "show", "nvidia-9000"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv):
    rc, _out, err = run(capsys, *argv)
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err


def test_plan_serve_json(capsys):
    rc, out, _ = run(
        capsys,
        "plan",
        "serve",
        "llama-3.2-1b",
        "--hardware",
        "h100",
        "--prompt-len",
        "256",
        "--output-len",
        "64",
        "--rate",
        "4",
        "--format",
        "json",
    )
    d = json.loads(out)
    assert rc == 0 and d["evaluated"] > 0 and d["candidates"][0]["ok"]


def test_roofline_and_specs(capsys, tmp_path):
    rc, out, _ = run(capsys, "roofline", "costmodel/examples/resnet50.onnx", "--hardware", "h100", "--format", "json")
    assert rc == 0 and json.loads(out)["ops"]
    rc, out, _ = run(capsys, "specs", "--format", "json")
    assert rc == 0 and len(json.loads(out)) >= 25


def test_calibrate_writes_a_loadable_profile(capsys, tmp_path):
    path = tmp_path / "local.toml"
    rc, _, _ = run(capsys, "calibrate", "--quick", "--cpu-only", "--output", str(path))
    assert rc == 0
    from costmodel.hardware.loader import load_profile_file

    prof = load_profile_file(str(path))
    assert prof.calibration is not None and prof.memory_bandwidth > 0
