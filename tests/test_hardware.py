"""Hardware profiles: the built-in files, the loader and its validation.

Expected figures are hard-coded from the project reference hardware-datasheets.md (compiled
2026-11-28), Tables A and B; the tests never read that file."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel.errors import HardwareError
from costmodel.hardware import (
    PEAK_DTYPES,
    HardwareProfile,
    get_profile,
    list_profiles,
    load_profile_file,
    loader,
    profile_from_dict,
    profile_names,
    profile_to_dict,
)

T = 1e12
G = 1e9
GiB = 2**30
PROFILE_DIR = Path(__file__).resolve().parent.parent / "hardware_profiles"

NAMES = [
    "v100-sxm2-32gb",
    "a100-sxm4-40gb",
    "a100-sxm4-80gb",
    "a100-pcie-80gb",
    "h100-sxm5-80gb",
    "h100-pcie-80gb",
    "h100-nvl",
    "h200-sxm-141gb",
    "b200",
    "gb200",
    "l4",
    "l40s",
    "a10g",
    "t4",
    "rtx-4090",
    "rtx-3090",
    "rtx-5090",
    "mi250x-gcd",
    "mi250x",
    "mi300x",
    "mi325x",
    "tpu-v4",
    "tpu-v5e",
    "tpu-v5p",
    "tpu-v6e",
    "gaudi2",
    "gaudi3",
    "m2-ultra",
    "m3-max",
    "m4-max",
    "xeon-8480",
    "epyc-9654",
    # added for the cross-device hardware model (sources in each file, not in the reference)
    "v100-pcie-32gb",
    "v100-pcie-16gb",
    "p100-pcie-16gb",
    "p4",
    "a100-pcie-40gb",
    "a40",
    "a10",
    "l40",
    "rtx-a6000",
    "h800",
    "h20",
    "mi100",
    "mi210",
    "mi250-gcd",
    "mi250",
    "mi300a",
    "jetson-orin-agx",
    "jetson-orin-nano",
    "apple-m3",
    "snapdragon-x-elite",
]
ALIASES = {"h100": "h100-sxm5-80gb", "h200": "h200-sxm-141gb", "a100": "a100-sxm4-80gb"}

# Vendor figures graded A in the reference (Table A: dense TFLOP/s; Table B: TB/s and the
# vendor's memory size with its unit). Only A-graded cells are listed.
# name: {bf16, fp16 (matrix peak), fp32 (non-tensor/vector), bw (bytes/s), cap (bytes)}
GRADE_A = {
    # Table A/B row "NVIDIA V100 SXM2 32GB": FP16 125, FP32 15.7, 0.9 TB/s, 32 GB
    "v100-sxm2-32gb": {"fp16": 125 * T, "fp32": 15.7 * T, "bw": 900 * G, "cap": 32 * G},
    # "NVIDIA A100 SXM4 40GB": BF16/FP16 312, FP32 19.5, 1.555 TB/s, 40 GB
    "a100-sxm4-40gb": {"bf16": 312 * T, "fp16": 312 * T, "fp32": 19.5 * T, "bw": 1555 * G, "cap": 40 * G},
    # "NVIDIA A100 SXM4 80GB": BF16/FP16 312, FP32 19.5, 2.039 TB/s, 80 GB
    "a100-sxm4-80gb": {"bf16": 312 * T, "fp16": 312 * T, "fp32": 19.5 * T, "bw": 2039 * G, "cap": 80 * G},
    # "NVIDIA A100 PCIe 80GB": BF16/FP16 312, FP32 19.5, 1.935 TB/s, 80 GB
    "a100-pcie-80gb": {"bf16": 312 * T, "fp16": 312 * T, "fp32": 19.5 * T, "bw": 1935 * G, "cap": 80 * G},
    # "NVIDIA H100 SXM5 80GB": FP32 67, 3.35 TB/s, 80 GB (tensor rows are B: sparse / 2)
    "h100-sxm5-80gb": {"fp32": 67 * T, "bw": 3350 * G, "cap": 80 * G},
    # "NVIDIA H100 PCIe 80GB": FP32 51, 2 TB/s, 80 GB
    "h100-pcie-80gb": {"fp32": 51 * T, "bw": 2000 * G, "cap": 80 * G},
    # "NVIDIA H100 NVL (per GPU)": FP32 60, 3.9 TB/s, 94 GB
    "h100-nvl": {"fp32": 60 * T, "bw": 3900 * G, "cap": 94 * G},
    # "NVIDIA H200 SXM 141GB": FP32 67, 4.8 TB/s, 141 GB
    "h200-sxm-141gb": {"fp32": 67 * T, "bw": 4800 * G, "cap": 141 * G},
    # "NVIDIA B200 (HGX B200, per GPU)": FP32 75, 7.7 TB/s, 180 GB
    "b200": {"fp32": 75 * T, "bw": 7700 * G, "cap": 180 * G},
    # "NVIDIA GB200 (NVL72, per Blackwell GPU)": FP32 80, 8 TB/s, 186 GB
    "gb200": {"fp32": 80 * T, "bw": 8000 * G, "cap": 186 * G},
    # "NVIDIA L4": FP32 30.3, 24 GB (bandwidth is B)
    "l4": {"fp32": 30.3 * T, "cap": 24 * G},
    # "NVIDIA L40S": BF16/FP16 362.05, FP32 91.6, 0.864 TB/s, 48 GB
    "l40s": {"bf16": 362.05 * T, "fp16": 362.05 * T, "fp32": 91.6 * T, "bw": 864 * G, "cap": 48 * G},
    # "NVIDIA GeForce RTX 4090": BF16/FP16 165.2 (FP32 accumulate), FP32 82.6, 1.008 TB/s, 24 GB
    "rtx-4090": {"bf16": 165.2 * T, "fp16": 165.2 * T, "fp32": 82.6 * T, "bw": 1008 * G, "cap": 24 * G},
    # "NVIDIA GeForce RTX 3090": FP16 71 (FP32 accumulate), FP32 35.6, 0.936 TB/s, 24 GB
    "rtx-3090": {"fp16": 71 * T, "fp32": 35.6 * T, "bw": 936 * G, "cap": 24 * G},
    # "NVIDIA GeForce RTX 5090": BF16 209.5 (FP32 accumulate)
    "rtx-5090": {"bf16": 209.5 * T},
    # "AMD MI250X (per GCD, 1 of 2)": 1.6 TB/s
    "mi250x-gcd": {"bw": 1600 * G},
    # "AMD MI250X (per OAM module, 2 GCDs)": 3.2 TB/s, 128 GiB
    "mi250x": {"bw": 3200 * G, "cap": 128 * GiB},
    # "AMD Instinct MI300X": BF16/FP16 1307.4, FP32 163.4, 5.3 TB/s, 192 GB
    "mi300x": {"bf16": 1307.4 * T, "fp16": 1307.4 * T, "fp32": 163.4 * T, "bw": 5300 * G, "cap": 192 * G},
    # "Google TPU v4 (per chip)": BF16 275, 1.2 TB/s, 32 GiB
    "tpu-v4": {"bf16": 275 * T, "bw": 1200 * G, "cap": 32 * GiB},
    # "Google TPU v5e (per chip)": BF16 197, 0.819 TB/s, 16 GB
    "tpu-v5e": {"bf16": 197 * T, "bw": 819 * G, "cap": 16 * G},
    # "Google TPU v5p (per chip)": BF16 459, 2.765 TB/s, 95 GiB
    "tpu-v5p": {"bf16": 459 * T, "bw": 2765 * G, "cap": 95 * GiB},
    # "Google TPU v6e Trillium (per chip)": BF16 918, 1.638 TB/s, 32 GB
    "tpu-v6e": {"bf16": 918 * T, "bw": 1638 * G, "cap": 32 * G},
    # "Intel Gaudi2 (HL-225H OAM)": BF16 432, 2.46 TB/s, 96 GB
    "gaudi2": {"bf16": 432 * T, "bw": 2460 * G, "cap": 96 * G},
    # "Intel Gaudi3 (HL-325L OAM)": BF16 1835, 3.67 TB/s, 128 GB
    "gaudi3": {"bf16": 1835 * T, "bw": 3670 * G, "cap": 128 * G},
    # "Apple M2 Ultra (76-core GPU)": FP32 27.2
    "m2-ultra": {"fp32": 27.2 * T},
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    loader._index.cache_clear()
    loader._load_builtin.cache_clear()
    yield


# --------------------------------------------------------------------------------------------
# Built-in profiles
# --------------------------------------------------------------------------------------------


def test_builtin_names_are_exactly_the_listed_devices():
    assert profile_names() == sorted(NAMES)
    assert [p.name for p in list_profiles()] == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_profile_loads_and_is_sane(name):
    p = get_profile(name)
    assert isinstance(p, HardwareProfile)
    assert p.name == name and p.display_name and p.vendor
    assert p.kind in loader.KINDS
    assert p.peak_flops, "at least one compute peak"
    assert all(v > 0 and math.isfinite(v) for v in p.peak_flops.values())
    assert 1e10 < p.memory_bandwidth < 1e14
    assert 1e9 < p.memory_capacity < 2e12
    assert p.path and p.path.endswith(f"{name}.toml")
    # a matrix product runs at a rate the profile lists: its own dtype's (matrix units
    # first, then vector units), else one of its fallbacks' (fp8 as fp16...), else an error
    listed = {**p.vector_flops, **p.matrix_flops}
    for dt in PEAK_DTYPES:
        try:
            got = p.matrix_peak(dt)
        except HardwareError as e:
            assert dt not in listed and dt in str(e)
            continue
        assert got == listed[dt] if dt in listed else got in listed.values()
    if p.interconnect is not None:
        assert p.interconnect.bandwidth > 0
    if p.kind == "gpu" and "bf16" in p.matrix_flops and "fp32" in p.vector_flops:
        assert p.matrix_flops["bf16"] > p.vector_flops["fp32"]


@pytest.mark.parametrize("name", NAMES)
def test_every_figure_has_a_graded_source(name):
    text = (PROFILE_DIR / f"{name}.toml").read_text(encoding="utf-8")
    head = text.split("\nname =")[0]
    assert "hardware-datasheets.md" in head and "2026-11-28" in head  # header names the reference
    data = tomllib.loads(text)
    assert data["name"] == name
    sources = data["sources"]
    for table in ("matrix", "vector", "memory", "compute", "interconnect", "pcie", "power", "price"):
        for key, value in data.get(table, {}).items():
            if isinstance(value, str):  # name / type / unit_name
                continue
            cite = sources.get(f"{table}.{key}")
            assert cite, f"{name}: {table}.{key} has no source"
            assert re.search(r"Grade [ABCDU]", cite), f"{name}: {table}.{key} has no grade"
    for key in sources:
        table, _, field = key.partition(".")
        assert field in data.get(table, {}), f"{name}: source for missing field {key}"
    assert isinstance(data.get("unconfirmed", []), list)
    # unconfirmed fields are either absent or explicitly kept with grade U
    for field in data.get("unconfirmed", []):
        table, _, key = field.partition(".")
        if key and key in data.get(table, {}):
            assert "Grade U" in sources[field] or "ASSUMED" in sources[field], field


@pytest.mark.parametrize("name", sorted(GRADE_A))
def test_grade_a_vendor_figures(name):
    p = get_profile(name)
    exp = GRADE_A[name]
    for dt in ("bf16", "fp16"):
        if dt in exp:
            assert p.matrix_flops[dt] == pytest.approx(exp[dt], rel=0.02), dt
    if "fp32" in exp:
        assert p.vector_flops["fp32"] == pytest.approx(exp["fp32"], rel=0.02)
    if "bw" in exp:
        assert p.memory_bandwidth == pytest.approx(exp["bw"], rel=0.02)
    if "cap" in exp:
        assert p.memory_capacity == pytest.approx(exp["cap"], rel=0.08)


def test_known_traps():
    # Hopper prints only sparse tensor figures: H100 SXM bf16 dense is 989.5, not 1979.
    h100 = get_profile("h100-sxm5-80gb")
    assert h100.matrix_flops["bf16"] == pytest.approx(989.5 * T)
    assert max(h100.peak_flops.values()) < 2500 * T  # fp8/int8 1979, never the 3958 headline
    # B200: dense is half of the sparse headline (4.5 PF fp16/bf16, 18 PF fp4 per GPU).
    b200 = get_profile("b200")
    assert b200.matrix_flops["bf16"] == pytest.approx(2250 * T)
    assert b200.matrix_flops["fp4"] == pytest.approx(9000 * T)
    assert get_profile("gb200").matrix_flops["bf16"] == pytest.approx(2500 * T)
    # GeForce: FP32-accumulate tensor rate (half the FP16-accumulate one).
    assert get_profile("rtx-4090").matrix_flops["bf16"] == pytest.approx(165.2 * T)
    assert get_profile("rtx-3090").matrix_flops["fp16"] == pytest.approx(71 * T)
    assert get_profile("rtx-5090").matrix_flops["bf16"] == pytest.approx(209.5 * T)
    # MI250X: one GCD (what a single matmul sees) vs the two-GCD module.
    gcd, module = get_profile("mi250x-gcd"), get_profile("mi250x")
    assert gcd.matrix_flops["bf16"] == pytest.approx(191.5 * T)
    assert module.matrix_flops["bf16"] == pytest.approx(383 * T)
    assert module.memory_bandwidth == pytest.approx(2 * gcd.memory_bandwidth)
    # Measured H200: L2 60 MiB (not H100's 50), 132 SMs at 1980 MHz.
    h200 = get_profile("h200")
    assert h200.l2_bytes == 60 * 2**20
    assert h200.compute_units == 132 and h200.clock_hz == pytest.approx(1980e6)
    assert h200.special_function_rate == pytest.approx(132 * 16 * 1980e6)
    # Per-direction links: NVLink 4 is 900 GB/s total = 450 each way; Gen5 x16 64 each way.
    assert h100.interconnect.bandwidth == pytest.approx(450 * G)
    assert h100.pcie.bandwidth == pytest.approx(64 * G)


def test_aliases_and_case_insensitivity():
    for alias, name in ALIASES.items():
        assert get_profile(alias).name == name
        assert get_profile(alias.upper()).name == name
        assert alias in get_profile(name).aliases
    assert get_profile("  H100-SXM5-80GB ").name == "h100-sxm5-80gb"
    assert get_profile("MI300X") is get_profile("mi300x")  # cached: parsed once
    # no alias shadows another profile's name, and no alias is declared twice
    seen: dict[str, str] = {}
    for p in list_profiles():
        for a in p.aliases:
            assert a not in NAMES and a not in seen, a
            seen[a] = p.name


def test_profile_passes_through_and_bad_types():
    p = get_profile("l4")
    assert get_profile(p) is p
    for bad in (None, 3, 2.5, b"h100", ["h100"]):
        with pytest.raises(HardwareError):
            get_profile(bad)
    with pytest.raises(HardwareError, match="empty"):
        get_profile("   ")


def test_lazy_loading_and_fast_index():
    get_profile("h100")
    assert loader._load_builtin.cache_info().currsize == 1  # only the H100 file was parsed
    best = math.inf
    for _ in range(3):
        loader._index.cache_clear()
        t0 = time.perf_counter()
        loader._index()
        best = min(best, time.perf_counter() - t0)
    assert best < 0.05


def test_calibrated_profiles_are_the_measured_ones_and_parse_only_their_files():
    loader._load_builtin.cache_clear()
    found = loader.calibrated_profiles()
    parsed = loader._load_builtin.cache_info().currsize
    assert [p.name for p in found] == [p.name for p in loader.list_profiles() if p.calibration]
    assert found and parsed < len(loader.profile_names())


def test_unknown_name_lists_close_matches():
    with pytest.raises(HardwareError) as e:
        get_profile("h10")
    msg = str(e.value)
    assert "h100" in msg and "costmodel hardware list" in msg
    with pytest.raises(HardwareError, match="mi300x"):
        get_profile("mi300")
    with pytest.raises(HardwareError, match="costmodel hardware list"):
        get_profile("qqqqqqqqqq")


def test_product_code_never_reads_the_reference():
    src = Path(loader.__file__).read_text(encoding="utf-8")
    assert "work/shared" not in src and "hardware-datasheets" not in src


# --------------------------------------------------------------------------------------------
# User profile files
# --------------------------------------------------------------------------------------------

USER_TOML = """
name = "My-Accel"
display_name = "My accelerator"
vendor = "ACME"
kind = "accelerator"
aliases = ["myacc"]

[matrix]
bf16_tflops = 100
int8_tops = 200

[vector]
fp32_gflops = 12500

[memory]
capacity_GiB = 32
bandwidth_TBps = 1.5
l2_MiB = 40
type = "HBM2e"

[compute]
units = 64
unit_name = "core"
clock_GHz = 1.5

[interconnect]
name = "fabric"
bandwidth_per_direction_GBps = 100
links = 4
latency_us = 2

[network]
bandwidth_per_direction_GBps = 50

[power]
tdp_W = 300

[price]
usd_per_hour = 1.25

[sources]
"matrix.bf16_tflops" = "my measurements"

[calibration]
method = "my measurements"
stream_bandwidth_fraction = 0.7
gemm_fraction = { bf16 = 0.8, fp32 = 0.75 }
"""


def _check_user(p: HardwareProfile):
    assert p.name == "my-accel" and p.display_name == "My accelerator" and p.vendor == "ACME"
    assert p.aliases == ("myacc",)
    assert p.matrix_flops == {"bf16": 100 * T, "int8": 200 * T}
    assert p.vector_flops == {"fp32": pytest.approx(12.5 * T)}
    assert p.memory_capacity == 32 * GiB
    assert p.memory_bandwidth == pytest.approx(1.5e12)
    assert p.l2_bytes == 40 * 2**20
    assert p.compute_units == 64 and p.clock_hz == pytest.approx(1.5e9)
    assert p.interconnect.bandwidth == pytest.approx(100 * G) and p.interconnect.links == 4
    assert p.interconnect.latency_s == pytest.approx(2e-6)
    assert p.network.name == "network" and p.network.bandwidth == pytest.approx(50 * G)
    assert p.pcie is None
    assert p.tdp_watts == 300 and p.price_per_hour == 1.25
    assert p.sources == {"matrix.bf16_tflops": "my measurements"}
    assert p.calibration == {
        "method": "my measurements",
        "stream_bandwidth_fraction": 0.7,
        "gemm_fraction": {"bf16": 0.8, "fp32": 0.75},
    }


def test_user_toml_and_yaml_files(tmp_path):
    t = tmp_path / "acc.toml"
    t.write_text(USER_TOML, encoding="utf-8")
    _check_user(load_profile_file(t))
    _check_user(get_profile(str(t)))
    _check_user(get_profile(t))  # a Path works too
    for suffix in (".yaml", ".yml"):
        y = tmp_path / f"acc{suffix}"
        y.write_text(yaml.safe_dump(tomllib.loads(USER_TOML)), encoding="utf-8")
        _check_user(get_profile(str(y)))


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def _to_toml(d: dict) -> str:
    top = [f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    tables = [
        f"[{k}]\n" + "\n".join(f"{json.dumps(kk)} = {_toml_value(vv)}" for kk, vv in v.items())
        for k, v in d.items()
        if isinstance(v, dict)
    ]
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


def _same(a: HardwareProfile, b: HardwareProfile):
    for f in dataclasses.fields(HardwareProfile):
        if f.name == "path":
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, dict):
            assert x.keys() == y.keys(), f.name
            for k in x:
                assert y[k] == (pytest.approx(x[k], rel=1e-12) if isinstance(x[k], float) else x[k])
        elif isinstance(x, float):
            assert y == pytest.approx(x, rel=1e-12), f.name
        elif dataclasses.is_dataclass(x):  # Link
            assert (y.name, y.links) == (x.name, x.links), f.name
            assert (y.bandwidth, y.latency_s) == pytest.approx((x.bandwidth, x.latency_s), rel=1e-12)
        else:
            assert x == y, f.name


@pytest.mark.parametrize("name", ["h200", "mi300x", "tpu-v5p", "xeon-8480", "mi250x"])
def test_round_trip_through_user_files(tmp_path, name):
    p = get_profile(name)
    p = dataclasses.replace(
        p,
        calibration={"gemm_fraction": {"bf16": 0.5}, "notes": "measured", "refine": {"gemm": 1.1}},
        price_per_hour=3.5,
    )
    d = profile_to_dict(p)
    t = tmp_path / "p.toml"
    t.write_text(_to_toml(d), encoding="utf-8")
    y = tmp_path / "p.yaml"
    y.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    for f in (t, y):
        q = load_profile_file(f)
        _same(p, q)
        assert q.path == str(f.resolve())


# --------------------------------------------------------------------------------------------
# Invalid files
# --------------------------------------------------------------------------------------------

GOOD = """name = "x"
[matrix]
bf16_tflops = 100
[memory]
capacity_GB = 16
bandwidth_GBps = 800
"""


def _bad(tmp_path, text: str, suffix: str = ".toml", *must_mention: str):
    f = tmp_path / f"bad{suffix}"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(HardwareError) as e:
        get_profile(str(f))
    msg = str(e.value)
    assert "bad" + suffix in msg, msg  # names the file
    for m in must_mention:
        assert m in msg, msg
    return msg


def test_good_minimal_file(tmp_path):
    f = tmp_path / "ok.toml"
    f.write_text(GOOD, encoding="utf-8")
    p = load_profile_file(f)
    assert p.kind == "accelerator" and p.display_name == "x" and p.vendor == ""


def test_invalid_toml_files(tmp_path):
    _bad(
        tmp_path, GOOD.replace("bandwidth_GBps = 800", "bandwidth_GBps = -800"), ".toml", "memory.bandwidth_GBps", "> 0"
    )
    _bad(tmp_path, GOOD.replace("bandwidth_GBps = 800", "bandwidth_GBps = 0"), ".toml", "memory.bandwidth_GBps")
    _bad(
        tmp_path,
        GOOD.replace("bandwidth_GBps = 800", "bandwidth_GBps = nan"),
        ".toml",
        "memory.bandwidth_GBps",
        "finite",
    )
    _bad(tmp_path, GOOD.replace("bf16_tflops = 100", "bf16_tflops = inf"), ".toml", "matrix.bf16_tflops", "finite")
    _bad(tmp_path, GOOD.replace("bandwidth_GBps = 800\n", ""), ".toml", "memory.bandwidth")
    _bad(tmp_path, GOOD.replace("capacity_GB = 16\n", ""), ".toml", "memory.capacity")
    _bad(tmp_path, GOOD.replace('name = "x"\n', ""), ".toml", "name")
    _bad(tmp_path, GOOD.replace("[matrix]\nbf16_tflops = 100\n", ""), ".toml", "[matrix]")
    msg = _bad(tmp_path, GOOD + "[power]\nwatts = 3\n", ".toml", "power.watts", "tdp_")
    assert "allowed" in msg
    _bad(tmp_path, GOOD.replace("bandwidth_GBps", "bandwith_GBps"), ".toml", "memory.bandwith_GBps", "bandwidth_<")
    _bad(tmp_path, GOOD + "colour = 3\n", ".toml")  # lands in [memory]: unknown key
    _bad(tmp_path, "colour = 3\n" + GOOD, ".toml", "colour", "allowed")
    _bad(tmp_path, GOOD.replace("bf16_tflops", "bf16"), ".toml", "matrix.bf16", "no unit")
    _bad(tmp_path, GOOD.replace("bf16_tflops", "bf16_tbps"), ".toml", "matrix.bf16_tbps")
    _bad(tmp_path, GOOD.replace("bandwidth_GBps", "bandwidth_Gbps"), ".toml", "unknown unit")
    _bad(
        tmp_path,
        GOOD.replace("bandwidth_GBps = 800", 'bandwidth_GBps = "fast"'),
        ".toml",
        "memory.bandwidth_GBps",
        "number",
    )
    _bad(
        tmp_path,
        GOOD.replace("bandwidth_GBps = 800", "bandwidth_GBps = true"),
        ".toml",
        "memory.bandwidth_GBps",
        "number",
    )
    _bad(tmp_path, GOOD.replace("capacity_GB = 16", "capacity_GB = 16\ncapacity_GiB = 16"), ".toml", "given twice")
    _bad(tmp_path, GOOD + "[compute]\nunits = 1.5\n", ".toml", "compute.units", "integer")
    _bad(tmp_path, GOOD + '[pcie]\nname = "x"\n', ".toml", "[pcie]", "bandwidth_per_direction")
    _bad(tmp_path, 'kind = "fpga"\n' + GOOD, ".toml", "kind")
    _bad(tmp_path, 'aliases = "h"\n' + GOOD, ".toml", "aliases")
    _bad(tmp_path, "name = \n", ".toml", "invalid TOML")
    _bad(tmp_path, 'name = "has space"\n' + GOOD.split("\n", 1)[1], ".toml", "name")
    _bad(tmp_path, GOOD + "[calibration]\nx = 2024-01-01\n", ".toml", "calibration.x")
    _bad(tmp_path, GOOD + "[sources]\nx = 1\n", ".toml", "sources.x", "string")


def test_file_level_errors(tmp_path):
    with pytest.raises(HardwareError, match="no such profile file"):
        get_profile(str(tmp_path / "missing.toml"))
    with pytest.raises(HardwareError, match="unsupported profile file type"):
        load_profile_file(tmp_path / "p.json")
    big = tmp_path / "big.yaml"
    big.write_text("name: x\n" + "#" * (1 << 20), encoding="utf-8")
    with pytest.raises(HardwareError, match="larger than"):
        get_profile(str(big))
    bin_ = tmp_path / "bin.toml"
    bin_.write_bytes(b'name = "\xff"\n')
    with pytest.raises(HardwareError, match="UTF-8"):
        get_profile(str(bin_))
    d = tmp_path / "dir.toml"
    d.mkdir()
    with pytest.raises(HardwareError, match="directory"):
        get_profile(str(d))


YAML_GOOD = """name: y
matrix: {bf16_tflops: 100}
memory: {capacity_GB: 16, bandwidth_GBps: 800}
"""


def test_invalid_yaml_files(tmp_path):
    sentinel = tmp_path / "pwned"
    tag = YAML_GOOD.replace(
        "bandwidth_GBps: 800", f"bandwidth_GBps: !!python/object/apply:os.system ['touch {sentinel}']"
    )
    _bad(tmp_path, tag, ".yaml", "memory.bandwidth_GBps", "python/object")
    assert not sentinel.exists()
    _bad(tmp_path, YAML_GOOD.replace("name: y", "name: !!python/name:os.system"), ".yaml", "name")
    _bad(tmp_path, YAML_GOOD.replace("800", "-800"), ".yaml", "memory.bandwidth_GBps")
    _bad(tmp_path, YAML_GOOD.replace("800", ".nan"), ".yaml", "memory.bandwidth_GBps", "finite")
    _bad(tmp_path, "- 1\n- 2\n", ".yaml", "table")
    _bad(tmp_path, "", ".yaml")
    _bad(tmp_path, "a: [\n", ".yaml", "invalid YAML")
    _bad(tmp_path, YAML_GOOD + "---\nname: z\n", ".yml", "invalid YAML")
    _bad(tmp_path, YAML_GOOD + "sources: {1: x}\n", ".yaml", "sources")
    _bad(tmp_path, YAML_GOOD + "calibration: {date: 2024-13-45}\n", ".yaml")
    _bad(tmp_path, YAML_GOOD + "notes: &a [*a]\n", ".yaml", "notes", "recursive")


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = YAML_GOOD + "calibration:\n" + "\n".join("  " + ln for ln in lines) + "\n"
    t0 = time.perf_counter()
    _bad(tmp_path, bomb, ".yaml", "calibration", "alias")
    assert time.perf_counter() - t0 < 2.0


# --------------------------------------------------------------------------------------------
# Fuzzing: any invalid profile is a HardwareError, never another exception
# --------------------------------------------------------------------------------------------

BASE = tomllib.loads(USER_TOML)
NUMERIC = [
    (t, k)
    for t, tab in BASE.items()
    if isinstance(tab, dict) and t != "calibration"
    for k, v in tab.items()
    if isinstance(v, (int, float)) and not isinstance(v, bool)
]
REQUIRED = [("name",), ("memory", "capacity_GiB"), ("memory", "bandwidth_TBps")]
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
bad_number = st.one_of(
    st.floats(max_value=0.0), st.integers(max_value=0), st.sampled_from([math.nan, math.inf, -math.inf]), junk
)
STRING_FIELDS = [("name",), ("kind",), ("vendor",), ("memory", "type"), ("interconnect", "name")]
not_a_string = st.one_of(st.integers(), st.floats(), st.lists(st.none(), max_size=2))
unknown_key = st.tuples(
    st.sampled_from(["matrix", "memory", "power", None]), st.text("abcxyz_", min_size=1, max_size=6)
)

# Each mutation makes the profile invalid: (path, value), value DROP removes the key.
DROP = object()
mutation = st.one_of(
    st.sampled_from(REQUIRED).map(lambda path: (path, DROP)),
    st.tuples(st.sampled_from(NUMERIC), bad_number),
    st.tuples(st.sampled_from(STRING_FIELDS), not_a_string),
    unknown_key.map(lambda tk: ((tk[0], "zz" + tk[1]) if tk[0] else ("zz" + tk[1],), 1)),
)


def _apply(data: dict, path: tuple, value) -> dict:
    data = copy.deepcopy(data)
    target = data[path[0]] if len(path) == 2 else data
    if value is DROP:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=3))
def test_fuzz_invalid_dicts_raise_hardware_error(mutations):
    data = BASE
    for path, value in mutations:
        data = _apply(data, path, value)
    with pytest.raises(HardwareError):
        profile_from_dict(data)


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda kids: st.one_of(
        st.lists(kids, max_size=3), st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), kids, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(list(loader._ALL_TOP) + ["junk"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, json_like, max_size=8))
def test_fuzz_arbitrary_structures(data):
    try:
        p = profile_from_dict(data)
    except HardwareError:
        return
    assert p.peak_flops and p.memory_bandwidth > 0  # only complete profiles get through


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from([".toml", ".yaml"]))
def test_fuzz_text(text, suffix):
    try:
        loader._parse_text(text, suffix, "fuzz" + suffix, None)
    except HardwareError:
        pass
