"""Measured kernel timings: the canonical format, the NeuSight / Vidur / measure_gpu
layouts, and the validation every number goes through (typed errors naming file, row and
column; never a crash on bad input)."""

from __future__ import annotations

import gzip
import json

import pytest

from costmodel.errors import MeasurementError
from costmodel.hardware.measurements import (
    CANONICAL_COLUMNS,
    Measurement,
    device_profile,
    measurements_to_csv,
    read_measurements,
)

HEADER = ",".join(CANONICAL_COLUMNS)
GOOD = HEADER + "\nmatmul,batch=1 m=64 n=128 k=256,bf16,2.5e-05,NVIDIA H200,h200-sxm-141gb,lab,eager,matmul_tf32=off\n"


def _write(tmp_path, name, text):
    p = tmp_path / name
    if name.endswith(".gz"):
        p.write_bytes(gzip.compress(text.encode()))
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_canonical_csv_round_trip(tmp_path):
    (m,) = read_measurements(_write(tmp_path, "a.csv", GOOD))
    assert (m.op, m.dtype, m.time_s, m.timing) == ("matmul", "bf16", 2.5e-05, "eager")
    assert dict(m.dims) == {"batch": 1, "m": 64, "n": 128, "k": 256}
    assert m.profile == "h200-sxm-141gb" and m.family == "gemm" and m.condition("matmul_tf32") == "off"
    again = read_measurements(_write(tmp_path, "b.csv.gz", measurements_to_csv([m])))
    assert again[0].dims == m.dims and again[0].time_s == m.time_s and again[0].conditions == m.conditions


def test_canonical_json(tmp_path):
    doc = {
        "format": "costmodel-measurements",
        "version": 1,
        "rows": [
            {
                "op": "rms_norm",
                "shape": {"rows": 4096, "cols": 4096},
                "dtype": "fp16",
                "time_s": 1.77e-4,
                "device": "NVIDIA A40",
                "profile": "",
                "source": "x",
                "timing": "kernel",
                "conditions": {},
            }
        ],
    }
    (m,) = read_measurements(_write(tmp_path, "m.json", json.dumps(doc)))
    assert m.profile == "a40" and m.numel == 4096 * 4096 and m.family == "norm"


@pytest.mark.parametrize(
    "cell,column,message",
    [
        ("0", "time_s", "plausible range"),
        ("-1e-5", "time_s", "plausible range"),
        ("nan", "time_s", "finite"),
        ("inf", "time_s", "finite"),
        ("1e308", "time_s", "plausible range"),
        ("5e-324", "time_s", "plausible range"),
        ("abc", "time_s", "number"),
    ],
)
def test_bad_times_name_file_row_and_column(tmp_path, cell, column, message):
    text = GOOD.replace("2.5e-05", cell)
    with pytest.raises(MeasurementError) as e:
        read_measurements(_write(tmp_path, "bad.csv", text))
    msg = str(e.value)
    assert "bad.csv" in msg and "row 2" in msg and f"column {column}" in msg and message in msg


@pytest.mark.parametrize(
    "old,new,column",
    [
        ("m=64", "m=0", "shape.m"),
        ("m=64", "m=-3", "shape.m"),
        ("m=64", "m=1.5", "shape.m"),
        ("k=256", "k=99999999999999999", "shape.k"),
        ("bf16", "bf17", "dtype"),
        ("matmul,", "frobnicate,", "op"),
        ("eager", "wallclock", "timing"),
        ("k=256", "", "shape"),  # a missing dimension
        ("k=256", "k=256 q=1", "shape"),  # an unknown one
    ],
)
def test_bad_cells(tmp_path, old, new, column):
    with pytest.raises(MeasurementError, match=f"row 2, column {column}"):
        read_measurements(_write(tmp_path, "bad.csv", GOOD.replace(old, new, 1)))


def test_file_level_errors(tmp_path):
    with pytest.raises(MeasurementError, match="no such"):
        read_measurements(tmp_path / "missing.csv")
    with pytest.raises(MeasurementError, match="unknown CSV layout"):
        read_measurements(_write(tmp_path, "x.csv", "a,b\n1,2\n"))
    with pytest.raises(MeasurementError, match="columns"):
        read_measurements(_write(tmp_path, "y.csv", GOOD + "matmul,1\n"))
    with pytest.raises(MeasurementError, match="no measurements"):
        read_measurements(_write(tmp_path, "z.csv", HEADER + "\n"))
    with pytest.raises(MeasurementError, match="JSON"):
        read_measurements(_write(tmp_path, "j.json", "{not json"))
    (tmp_path / "not.gz").write_bytes(b"plain text, not gzip")
    with pytest.raises(MeasurementError, match="cannot read"):
        read_measurements(tmp_path / "not.gz")


NEUSIGHT = (
    "OPName,Latency,Device,Torch Version,CUDNN Version,Kernel Name,Warps per SM,Blocks per SM,Grid x,Grid y,"
    "Grid z,Block x,Block y,Block z,CUDA Version,Kernels,B,M,N,K\n"
    "bmm,0.0354,Tesla T4,p2.1.0,8902,volta_sgemm_64x64_nn,0.65,0.325,1,1,13,64,1,1,cu121,;k,13,27,15,29\n"
)


def test_neusight_layout(tmp_path):
    (m,) = read_measurements(_write(tmp_path, "bmm__Tesla_T4.csv.gz", NEUSIGHT))
    # Latency is in milliseconds: 0.0354 ms = 35.4 us
    assert m.time_s == pytest.approx(35.4e-6)
    assert (m.op, m.profile, m.dtype, m.timing) == ("matmul", "t4", "fp32", "eager")
    assert dict(m.dims) == {"batch": 13, "m": 27, "n": 15, "k": 29}
    assert m.condition("matmul_tf32") == "off" and m.condition("conv_tf32") == "off"
    with pytest.raises(MeasurementError, match="row 2, column Latency"):
        read_measurements(_write(tmp_path, "bad.csv", NEUSIGHT.replace("0.0354", "nan")))


def _vidur_row(tokens=8, tp=2, add="0.002"):
    cols = {"n_head": 32, "n_kv_head": 8, "n_embd": 4096, "n_expanded_embd": 11008, "vocab_size": 32000}
    stats = {}
    for op, v in (("attn_pre_proj", "0.1"), ("add", add), ("input_layernorm", "0.004"), ("mlp_act", "0.007")):
        for s in ("min", "max", "mean", "median", "std"):
            stats[f"time_stats.{op}.{s}"] = v if s != "std" else "0.0001"
    row = {**stats, **cols, "use_gated_mlp": "True", "num_tokens": tokens, "num_tensor_parallel_workers": tp}
    return ",".join(row), ",".join(str(x) for x in row.values())


def test_vidur_layout_shards_and_device_folder(tmp_path):
    head, row = _vidur_row()
    folder = tmp_path / "vidur-a40"
    folder.mkdir()
    f = folder / "mlp__meta-llama_Llama-3-8B.csv"
    f.write_text(head + "\n" + row + "\n", encoding="utf-8")
    ms = {m.condition("stage"): m for m in read_measurements(f)}
    qkv = ms["attn_pre_proj"]
    # TP 2: 32/2 query heads + 2 x 8/2 kv heads, head dim 4096/32 = 128 -> n = (16 + 8) x 128 = 3072
    assert dict(qkv.dims) == {"m": 8, "n": 3072, "k": 4096}
    assert qkv.profile == "a40" and qkv.timing == "kernel" and qkv.time_s == pytest.approx(0.1e-3)
    assert ms["add"].numel == 8 * 4096 and ms["input_layernorm"].op == "rms_norm"
    assert ms["mlp_act"].op == "silu_and_mul" and dict(ms["mlp_act"].dims) == {"rows": 8, "cols": 11008 // 2}
    # outside a device folder the device must be given
    g = _write(tmp_path, "mlp.csv", head + "\n" + row + "\n")
    with pytest.raises(MeasurementError, match="does not name its device"):
        read_measurements(g)
    assert read_measurements(g, device="NVIDIA A40")[0].profile == "a40"


def test_h200_json_layout_reads_every_op_case():
    rows = read_measurements("benchmarks/data/h200-2026-11-28.json")
    # 303 cases: 11 whole-model LLM rows and 2 tiny-kernel ceilings are not ops
    assert len(rows) == 303 - 11 - 2
    assert {m.profile for m in rows} == {"h200-sxm-141gb"}
    assert all(isinstance(m, Measurement) and m.time_s > 0 for m in rows)


def test_device_names():
    assert device_profile("Tesla P100-PCIE-16GB") == "p100-pcie-16gb"
    assert device_profile("NVIDIA  A100 80GB PCIe") == "a100-pcie-80gb"
    assert device_profile("Some Future GPU") == ""
