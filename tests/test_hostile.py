"""Hostile inputs: every case ends quickly, with no traceback, a non-zero exit and one
line naming what was wrong (exit 0 for odd-but-valid input), and nothing is executed."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from costmodel_cli.main import main
from tests.helpers import model, vi

ZOO = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
RESNET = os.path.join(ZOO, "light_resnet50.onnx")


def cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_clean_failure(rc, err, code=2):
    assert rc == code, err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0 and err.startswith("costmodel: error:"), err


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data) if isinstance(data, bytes) else p.write_text(data)
    return str(p)


@pytest.mark.parametrize("blob", [b"", b"\x00" * 7, os.urandom(4096), b"not an onnx model, just text\n" * 20])
def test_garbage_model_files(capsys, tmp_path, blob):
    rc, _, err = cli(capsys, "analyze", write(tmp_path, "m.onnx", blob), "--format", "json")
    assert_clean_failure(rc, err)


def test_truncated_model(capsys, tmp_path):
    data = open(RESNET, "rb").read()
    for cut in (10, len(data) // 3, len(data) - 5):
        rc, _, err = cli(capsys, "analyze", write(tmp_path, f"t{cut}.onnx", data[:cut]))
        assert rc in (0, 2) and "Traceback" not in err


def test_bit_flipped_models_never_crash(capsys, tmp_path):
    data = bytearray(open(RESNET, "rb").read())
    rng = random.Random(1234)
    for i in range(40):
        d = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
        rc, _out, err = cli(capsys, "analyze", write(tmp_path, f"f{i}.onnx", bytes(d)), "--format", "json")
        assert rc in (0, 2), err
        assert "Traceback" not in err and "internal error" not in err, err


def test_missing_file_and_directory(capsys, tmp_path):
    rc, _, err = cli(capsys, "analyze", str(tmp_path / "nope.onnx"))
    assert_clean_failure(rc, err)
    rc, _, err = cli(capsys, "analyze", str(tmp_path))
    assert_clean_failure(rc, err)


def _save(tmp_path, m, name="g.onnx"):
    p = str(tmp_path / name)
    onnx.save(m, p)
    return p


def test_inconsistent_shapes_are_errors(capsys, tmp_path):
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", [4, 5]), vi("b", [6, 7])], [vi("y", None)])
    rc, _, err = cli(capsys, "analyze", _save(tmp_path, m))
    assert_clean_failure(rc, err)
    assert "inner dimensions" in err


def test_negative_dims_are_errors(capsys, tmp_path):
    m = model([helper.make_node("Relu", ["a"], ["y"])], [vi("a", [4, 5])], [vi("y", None)])
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = -3
    rc, _, err = cli(capsys, "analyze", _save(tmp_path, m))
    assert_clean_failure(rc, err)


def test_astronomical_dims_are_exact_and_valid(capsys, tmp_path):
    big = 10**15
    m = model(
        [helper.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", [big, big]), vi("b", [big, big])], [vi("y", None)]
    )
    import json

    rc, out, err = cli(capsys, "analyze", _save(tmp_path, m), "--format", "json", "--hardware", "h100")
    assert rc == 0, err
    d = json.loads(out)
    assert d["macs"] == big**3 and d["flops"] == 2 * big**3  # exact, no float overflow


def test_unknown_ops_are_listed_and_exit_zero(capsys, tmp_path):
    import json

    m = model(
        [helper.make_node("Frobnicate", ["a"], ["y"], domain="evil.corp")],
        [vi("a", [2])],
        [vi("y", [2])],
        domains={"evil.corp": 1},
    )
    rc, out, _ = cli(capsys, "analyze", _save(tmp_path, m), "--format", "json")
    assert rc == 0 and json.loads(out)["unsupported"][0]["op_type"] == "Frobnicate"
    rc, _, err = cli(capsys, "analyze", _save(tmp_path, m), "--strict")
    assert_clean_failure(rc, err)


def test_cycle(capsys, tmp_path):
    m = model([helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])], [], [vi("b", [2])])
    rc, _, err = cli(capsys, "analyze", _save(tmp_path, m))
    assert_clean_failure(rc, err)
    assert "cycle" in err


def test_deeply_nested_subgraphs(capsys, tmp_path):
    leaf = helper.make_graph([helper.make_node("Relu", ["x"], ["r"])], "leaf", [], [vi("r", [2])])
    inner = leaf
    # protobuf itself refuses messages nested ~100 deep (3 levels per subgraph), so a file
    # can hold about 30 nested subgraphs; costmodel must handle that depth quickly
    for d in range(30):
        node = helper.make_node("If", ["c"], [f"o{d}"], then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], f"g{d}", [], [vi(f"o{d}", [2])])
    top = helper.make_graph(list(inner.node), "top", [vi("c", [], "bool"), vi("x", [2])], [vi("o29", [2])])
    m = helper.make_model(top, opset_imports=[helper.make_opsetid("", 17)])
    rc, _, err = cli(capsys, "analyze", _save(tmp_path, m))
    assert rc in (0, 2) and "Traceback" not in err


def test_external_data_outside_the_folder_is_never_opened(capsys, tmp_path):
    import json

    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], vals=np.zeros(16, np.float32).tobytes(), raw=True)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../../../../etc/shadow"), ("offset", "0"), ("length", "64")):
        e = w.external_data.add()
        e.key, e.value = k, v
    m = model([helper.make_node("MatMul", ["a", "w"], ["y"])], [vi("a", [2, 4])], [vi("y", None)], [w])
    rc, out, err = cli(capsys, "analyze", _save(tmp_path, m), "--format", "json")
    assert rc == 0, err
    assert json.loads(out)["macs"] == 2 * 4 * 4


def test_yaml_bombs_tags_and_code_in_configs(capsys, tmp_path):
    sentinel = tmp_path / "pwned"
    cases = {
        "bomb.yaml": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e]\n",
        "tag.yaml": f"name: !!python/object/apply:os.system ['touch {sentinel}']\n",
        "code.yaml": "name: x\narchitecture: decoder\nvocab_size: 10\nnum_layers: 2\nnum_heads: 2\n"
        f"intermediate_size: 8\nhidden_size: \"__import__('os').system('touch {sentinel}')\"\n",
        "nan.json": '{"name": "x", "architecture": "decoder", "hidden_size": NaN, "num_layers": 2}',
        "neg.yaml": "name: x\narchitecture: decoder\nvocab_size: 10\nhidden_size: -8\nnum_layers: 2\nnum_heads: 2\n"
        "intermediate_size: 8\n",
        "heads.yaml": "name: x\narchitecture: decoder\nvocab_size: 10\nhidden_size: 10\nnum_layers: 2\nnum_heads: 3\n"
        "intermediate_size: 8\n",
        "type.json": '{"model_type": "llama", "vocab_size": "many", "hidden_size": 8, "num_hidden_layers": 1, '
        '"num_attention_heads": 2, "intermediate_size": 8}',
        "unknown_type.json": '{"model_type": "skynet", "hidden_size": 8}',
    }
    for name, text in cases.items():
        p = write(tmp_path, name, text)
        rc, _, err = cli(capsys, "llm", p, "--hardware", "h100")
        assert_clean_failure(rc, err)
    assert not sentinel.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ("llm", "llama-3-8b", "--hardware", "h100", "--batch", "-1"),
        ("llm", "llama-3-8b", "--hardware", "h100", "--prompt-len", "ten"),
        ("llm", "llama-3-8b", "--hardware", "h100", "--batch", "1e400"),
        ("analyze", RESNET, "--set", "batch=-2"),
        ("analyze", RESNET, "--set", "batch"),
        ("analyze", RESNET, "--hardware", "h1000"),
        ("analyze", RESNET, "--dtype", "fp13"),
        ("train", "llama-3-8b", "--hardware", "dgx-h100", "--gpus", "0", "--batch", "8", "--seq-len", "8"),
        (
            "train",
            "llama-3-8b",
            "--hardware",
            "dgx-h100",
            "--gpus",
            "8",
            "--batch",
            "8",
            "--seq-len",
            "8",
            "--tokens",
            "nan",
        ),
    ],
)
def test_bad_cli_arguments(capsys, argv):
    rc, _, err = cli(capsys, *argv)
    assert_clean_failure(rc, err)


def test_unknown_hardware_lists_close_names(capsys):
    rc, _, err = cli(capsys, "analyze", RESNET, "--hardware", "h10")
    assert_clean_failure(rc, err)
    assert "h100" in err


def test_invalid_hardware_file(capsys, tmp_path):
    p = write(
        tmp_path, "gpu.toml", 'name = "g"\n[memory]\ncapacity_GiB = 8\nbandwidth_GBps = -5\n[vector]\nfp32_tflops = 1\n'
    )
    rc, _, err = cli(capsys, "analyze", RESNET, "--hardware", p)
    assert_clean_failure(rc, err)
    assert "bandwidth" in err


def test_subprocess_has_no_traceback_and_bounded_memory(tmp_path):
    """The real process under a 4 GiB address-space limit and a 20 s timeout."""
    import resource

    bad = write(tmp_path, "bad.onnx", os.urandom(1 << 16))

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    p = subprocess.run(
        [sys.executable, "-m", "costmodel", "analyze", bad],
        capture_output=True,
        text=True,
        timeout=20,
        preexec_fn=limit,
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stdout == ""
