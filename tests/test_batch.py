"""`analyze_many` and `costmodel batch`: many models, one summary each, a broken file is
an error entry (never a crash), results in input order."""

from __future__ import annotations

import json
import os

import pytest

from cli.main import main
from costmodel.batch import analyze_many
from tests.graphs import transformer_block


@pytest.fixture(scope="module")
def files(tmp_path_factory, model_zoo):
    d = tmp_path_factory.mktemp("batch")
    block = d / "block.onnx"
    block.write_bytes(transformer_block().SerializeToString())
    broken = d / "broken.onnx"
    broken.write_bytes(b"this is not a protobuf")
    zoo = os.path.join(model_zoo, "light_squeezenet.onnx")
    return {"block": str(block), "broken": str(broken), "zoo": zoo, "missing": str(d / "missing.onnx")}


def test_analyze_many_in_order_with_error_entries(files):
    paths = [files["zoo"], files["broken"], files["block"], files["missing"]]
    rows = analyze_many(paths, jobs=1, bindings={"batch": 2, "seq": 8})
    assert [r["model"] for r in rows] == paths
    assert [r["ok"] for r in rows] == [True, False, True, False]
    assert rows[1]["error_type"] == "ModelLoadError" and "protobuf" in rows[1]["error"]
    assert rows[3]["error_type"] == "ModelLoadError"
    zoo, block = rows[0], rows[2]
    import costmodel

    exact = costmodel.analyze(files["block"], bindings={"batch": 2, "seq": 8})
    assert block["flops"] == exact.flops and block["params"] == exact.params
    assert block["symbols"] == [] and block["unsupported"] == 0 and block["nodes"] == len(exact.ops)
    assert zoo["macs"] == costmodel.analyze(files["zoo"]).macs


def test_each_model_takes_the_bindings_it_has(tmp_path):
    from tests.helpers import one_op

    relu = tmp_path / "relu.onnx"
    relu.write_bytes(one_op("Relu", [["batch", 4]]).SerializeToString())
    block = tmp_path / "block.onnx"
    block.write_bytes(transformer_block().SerializeToString())
    rows = analyze_many([str(relu), str(block)], jobs=1, bindings={"batch": 3, "seq": 5})
    assert [r["ok"] for r in rows] == [True, True]
    assert rows[0]["flops"] == 12 and rows[0]["symbols"] == [] and rows[1]["symbols"] == []


def test_process_pool_matches_in_process(files):
    paths = [files["block"], files["broken"], files["zoo"]]
    seen = []
    pooled = analyze_many(paths, jobs=2, on_result=lambda i, r: seen.append(i))
    single = analyze_many(paths, jobs=1)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in pooled]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in single]
    assert sorted(seen) == [0, 1, 2]
    assert pooled[0]["flops"].count("batch") >= 1  # symbolic formulas come back as strings


def test_cli_json(files, capsys):
    rc = main(
        [
            "batch",
            files["block"],
            files["zoo"],
            "--format",
            "json",
            "--set",
            "batch=1",
            "--set",
            "seq=4",
            "--jobs",
            "1",
            "--hardware",
            "h100",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    rows = json.loads(out)
    assert [r["ok"] for r in rows] == [True, True]
    assert all(r["latency_s"] > 0 for r in rows)


def test_cli_failure_exit_code_and_csv(files, capsys):
    rc = main(["batch", files["zoo"], files["broken"], "--format", "csv", "-j", "1"])
    out = capsys.readouterr().out.splitlines()
    assert rc == 2
    assert out[0].startswith("model,ok,") and len(out) == 3
    assert ",False," in out[2] and "ModelLoadError" in out[2]


def test_cli_usage_errors(files, capsys):
    assert main(["batch"]) == 2  # no files
    assert main(["batch", files["zoo"], "--hardware", "no-such-gpu"]) == 2
    assert "error" in capsys.readouterr().err


def test_cli_table(files, capsys):
    assert main(["batch", files["zoo"], files["broken"], "-j", "1"]) == 2
    out = capsys.readouterr().out  # a narrow terminal folds long cells
    assert "light_squ" in out and "ModelLoad" in out and "2 models" in out


# -- dataset-scale loading: embedded weights are skipped, never read or parsed ------------
def test_large_file_loads_without_weight_data(tmp_path, monkeypatch):
    import numpy as np
    from onnx import helper, numpy_helper

    import costmodel
    from costmodel.frontends import onnx as front
    from tests.helpers import init

    m = transformer_block()
    w = np.arange(80 * 64, dtype=np.float32).reshape(80, 64)  # embedded raw data, > 4096 elements
    m.graph.initializer.append(numpy_helper.from_array(w, "big_f32"))
    m.graph.initializer.append(init("unused_small", np.array([3, 4], dtype=np.int64)))
    m.graph.initializer.append(helper.make_tensor("big_i64", 7, [5000], list(range(5000))))  # int64_data
    path = tmp_path / "embedded.onnx"
    path.write_bytes(m.SerializeToString())
    whole = costmodel.analyze(str(path), bindings={"batch": 2, "seq": 8}).to_dict()
    monkeypatch.setattr(front, "SCAN_ABOVE", 0)  # walk the fields of even a tiny file
    stripped = front.load_model(str(path))
    sizes = {t.name: (len(t.raw_data), len(t.int64_data), tuple(t.dims)) for t in stripped.graph.initializer}
    assert sizes["big_f32"] == (0, 0, (80, 64)) and sizes["big_i64"] == (0, 0, (5000,))
    assert sizes["w_qkv"][0] == 16 * 48 * 4 and sizes["unused_small"][0] == 16  # small ones are kept
    assert [n.op_type for n in stripped.graph.node] == [n.op_type for n in m.graph.node]
    assert costmodel.analyze(str(path), bindings={"batch": 2, "seq": 8}).to_dict() == whole
    path.write_bytes(m.SerializeToString()[:-7])  # truncated: still a clean load error
    from costmodel.errors import ModelLoadError

    with pytest.raises(ModelLoadError):
        front.load_model(str(path))


def test_cli_table_of_a_model_with_free_dims_and_no_hardware(files, capsys):
    """Issue 18: the table's end called float() on a formula (a free dim, no --hardware)."""
    assert main(["batch", files["block"], files["zoo"], "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "batch*seq" in out and "2 models" in out
