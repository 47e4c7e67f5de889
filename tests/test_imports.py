"""Commands import only what they use: each runs in a fresh process and its sys.modules
is checked for the heavy packages (onnx costs ~1.6 s through ml_dtypes, sympy ~0.5 s,
torch/matplotlib more). Positive controls show the check sees an import when one happens."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESNET = os.path.join(ROOT, "costmodel", "examples", "resnet50.onnx")  # concrete dims only
HEAVY = ("onnx", "sympy.core", "matplotlib", "torch", "fvcore", "ml_dtypes")  # sympy.core: the real sympy
PROTOBUF = "google.protobuf"

CHILD = r"""
import contextlib, io, json, sys
from costmodel_cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
    rc = main(json.loads(sys.argv[1]))
print(json.dumps({"rc": rc, "err": err.getvalue()[-500:], "modules": sorted(sys.modules)}))
"""


def modules_of(argv: list[str]) -> set[str]:
    p = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(argv)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["rc"] == 0, (argv, out["err"])
    return set(out["modules"])


def loaded(mods: set[str], name: str) -> bool:
    return name in mods or any(m.startswith(name + ".") for m in mods)


NOT_ONNX = [
    ["hardware", "list"],
    ["hardware", "show", "h100", "--format", "json"],
    ["llm", "llama-3-8b", "--hardware", "h100"],
    ["llm", "llama-3-8b", "--hardware", "h100", "--format", "json"],
    ["train", "llama-3-8b", "--hardware", "dgx-h100", "--gpus", "8", "--batch", "8", "--seq-len", "2048"],
    ["plan", "train", "llama-3-8b", "--hardware", "dgx-h100", "--gpus", "8", "--batch", "64", "--seq-len", "2048"]
    + ["--tokens", "1e9", "--format", "json"],
    ["specs"],
    ["specs", "llama-3-8b"],
    ["scale", "--flops", "1e21", "--format", "json"],
    ["rerank", "gpt-2", "--strategy", "listwise", "--docs", "30", "--doc-len", "20", "--query-len", "5"],
    ["memory", "gpt-2", "mamba-2.8b", "--format", "json"],
    ["--help"],
]


@pytest.mark.parametrize("argv", NOT_ONNX, ids=[" ".join(a[:2]) + (" json" if "json" in a else "") for a in NOT_ONNX])
def test_commands_without_onnx_import_nothing_heavy(argv):
    mods = modules_of(argv)
    heavy = [h for h in (*HEAVY, PROTOBUF) if loaded(mods, h)]
    assert not heavy, f"{' '.join(argv)} imported {heavy}"


@pytest.mark.parametrize("argv", [["hardware", "list"], ["hardware", "show", "h100", "--format", "json"], ["--help"]])
def test_catalog_commands_skip_numpy(argv):
    # symbolic.py imports numpy only to evaluate on a grid: a catalog never needs it
    # (~50 ms: numpy's import under -X importtime, 2026-12-05, docs/benchmarks.md)
    assert not loaded(modules_of(argv), "numpy")


def test_the_numpy_check_sees_numpy():
    assert loaded(modules_of(["analyze", RESNET, "--format", "json"]), "numpy")


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", RESNET, "--format", "json"],
        ["analyze", RESNET],  # the rich table
        ["analyze", RESNET, "--hardware", "h100", "--format", "json"],
        ["roofline", RESNET, "--hardware", "h100", "--format", "json"],
        ["ops", "--format", "json"],
    ],
    ids=["analyze json", "analyze table", "analyze hardware", "roofline", "ops"],
)
def test_onnx_commands_read_onnx_without_the_onnx_package(argv):
    mods = modules_of(argv)
    heavy = [h for h in HEAVY if loaded(mods, h)]
    assert not heavy, f"{' '.join(argv)} imported {heavy}"
    if argv[0] != "ops":
        assert loaded(mods, PROTOBUF)  # positive control: the reader did parse with protobuf


def test_analysis_without_hardware_loads_no_engine_or_profiles():
    """The latency engine, the device model and the hardware profiles load for a latency
    only (about 15 ms of a 190 ms command on a 2-core machine)."""
    mods = modules_of(["analyze", RESNET, "--format", "json"])
    assert not [m for m in mods if m.startswith(("costmodel.engine", "costmodel.hardware"))]
    with_hw = modules_of(["analyze", RESNET, "--hardware", "h100", "--format", "json"])
    assert loaded(with_hw, "costmodel.engine.latency") and loaded(with_hw, "costmodel.hardware.loader")


def test_a_symbolic_model_does_import_sympy():
    """Positive control for the sympy check: a spec with free dims needs it."""
    mods = modules_of(["analyze", "llama-3-8b", "--format", "json"])
    assert loaded(mods, "sympy.core") and not loaded(mods, "onnx")


def test_only_the_invoked_command_module_is_imported():
    mods = modules_of(["hardware", "show", "h100", "--format", "json"])
    # main and settings (config-file defaults, applied to every command line) always load
    commands = {
        m for m in mods if m.startswith("costmodel_cli.") and m not in ("costmodel_cli.main", "costmodel_cli.settings")
    }
    assert commands <= {"costmodel_cli.hardware", "costmodel_cli.common"}, commands


def test_full_parser_lists_every_command_of_the_table():
    from costmodel_cli import main as cli_main

    full = cli_main.build_parser()
    sub = next(a for a in full._actions if a.dest == "command")
    assert list(sub.choices) == list(cli_main.COMMANDS)  # each module adds the command its key names
    for name in cli_main.COMMANDS:
        one = cli_main.build_parser(name)
        assert list(next(a for a in one._actions if a.dest == "command").choices) == [name]
    assert cli_main.command_in(["--debug", "llm", "x"]) == "llm"
    assert cli_main.command_in(["-h"]) is None and cli_main.command_in(["lmm"]) is None
    assert cli_main.command_in([]) is None
