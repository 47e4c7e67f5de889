"""Each fix of issue 19 as a unit test; hypothesis where a class of inputs is involved.
(The end-to-end acceptance is tests/test_hostile_corpus.py.)"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.errors import CostModelError, HardwareError, LimitExceeded, ModelLoadError, PlanError, SpecError
from costmodel.datafile import LONG_NUMBER_DIGITS, check_long_numbers, read_regular
from costmodel.symnames import original_name, symbol_name

ROOT = Path(__file__).resolve().parent.parent
FAST = settings(max_examples=int(os.environ.get("COSTMODEL_FUZZ_EXAMPLES", "200")), deadline=None)


# -- dim_param names --------------------------------------------------------------------------
@FAST
@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12))
def test_symbol_names_are_injective_identifiers_and_reversible(a, b):
    sa, sb = symbol_name(a), symbol_name(b)
    assert sa.isidentifier() and sb.isidentifier()
    assert (sa == sb) == (a == b)
    assert original_name(sa) == a


def test_symbol_names_keep_plain_names_and_split_the_issue_pair():
    assert symbol_name("batch") == "batch" and symbol_name("seq_len") == "seq_len"
    assert symbol_name("n!") == "n_x21_" and symbol_name("n?") == "n_x3f_"  # '!' is 0x21, '?' 0x3f
    assert original_name("loop_Loop_xa_trips") == "loop_Loop_xa_trips"  # not an escape: kept


def test_onnx_dim_params_n_bang_and_n_question_are_two_symbols(tmp_path):
    from onnx import helper

    from costmodel.api import analyze
    from tests.helpers import model, vi

    m = model([helper.make_node("Add", ["a", "b"], ["y"])], [vi("a", ["n!"]), vi("b", ["n?"])], [vi("y", None)])
    p = tmp_path / "m.onnx"
    p.write_bytes(m.SerializeToString())
    r = analyze(str(p))
    assert sorted(r.symbols) == ["n_x21_", "n_x3f_"]
    # bound to different sizes they no longer broadcast: they really are two dims
    with pytest.raises(CostModelError, match="broadcast"):
        analyze(str(p), bindings={"n_x21_": 3, "n_x3f_": 4})


# -- regular files only -----------------------------------------------------------------------
def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(ModelLoadError, match="not a regular file"):
        read_regular(fifo, max_bytes=100, error=ModelLoadError)
    assert time.monotonic() - t0 < 5  # opened without waiting for a writer
    with pytest.raises(ModelLoadError, match="not a regular file"):
        read_regular("/dev/zero", max_bytes=100, error=ModelLoadError)
    with pytest.raises(ModelLoadError, match="directory"):
        read_regular(tmp_path, max_bytes=100, error=ModelLoadError)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 101)
    with pytest.raises(ModelLoadError, match="larger than the limit of 100 bytes"):
        read_regular(big, max_bytes=100, error=ModelLoadError, flag="--max-file-mib")
    assert read_regular(big, max_bytes=101) == b"x" * 101


def test_api_refuses_a_fifo_and_dev_zero_as_models(tmp_path):
    from costmodel.api import analyze

    fifo = tmp_path / "m.onnx"
    os.mkfifo(fifo)
    for p in (str(fifo), "/dev/zero"):
        with pytest.raises(ModelLoadError, match="regular file"):
            analyze(p)


@FAST
@given(st.integers(min_value=1, max_value=300), st.sampled_from(["k: ", '"k": ', "k = ", "- "]))
def test_long_number_literals_are_refused_naming_the_key(n, lead):
    text = f"{lead}{'7' * n}\n"
    if n >= LONG_NUMBER_DIGITS:
        with pytest.raises(SpecError, match=f"{n} digits"):
            check_long_numbers(text, "f.yaml", SpecError)
    else:
        check_long_numbers(text, "f.yaml", SpecError)


def test_long_digit_runs_inside_strings_are_not_numbers():
    check_long_numbers('k: "' + "1" * 500 + '"\n', "f", SpecError)
    check_long_numbers("k: abc" + "1" * 500 + "\n", "f", SpecError)


@pytest.mark.parametrize("suffix", [".yaml", ".toml", ".json"])
def test_specs_with_numbers_past_the_int_string_limit_name_the_key(tmp_path, suffix):
    from costmodel.frontends.spec import read_mapping

    n = "1" + "0" * 5000  # past Python's 4300-digit limit of int(str)
    text = {".yaml": f"hidden_size: {n}\n", ".toml": f"hidden_size = {n}\n", ".json": f'{{"hidden_size": {n}}}'}
    p = tmp_path / f"s{suffix}"
    p.write_text(text[suffix])
    with pytest.raises(SpecError, match="hidden_size"):
        read_mapping(str(p))


# -- command-line numbers ----------------------------------------------------------------------
@FAST
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=30)))
def test_cli_float_types_return_only_finite_numbers_in_range(text):
    from costmodel_cli.common import MAX_PRICE, MAX_TRAIN_TOKENS, price, train_tokens

    for parse, lo, hi in ((price, 0.0, MAX_PRICE), (train_tokens, 1.0, MAX_TRAIN_TOKENS)):
        try:
            v = parse(text)
        except argparse.ArgumentTypeError:
            continue
        assert math.isfinite(v) and lo <= v <= hi
        assert parse is not price or v > 0


@FAST
@given(st.one_of(st.integers(min_value=-(10**40), max_value=10**40).map(str), st.text(max_size=40)))
def test_cli_int_types_return_only_ints_in_range(text):
    from costmodel_cli.common import MAX_TOKENS, tokens

    try:
        v = tokens(text)
    except argparse.ArgumentTypeError:
        return
    assert type(v) is int and 1 <= v <= MAX_TOKENS


def test_cli_int_types_read_at_most_30_digits():
    from costmodel_cli.common import positive_int

    with pytest.raises(argparse.ArgumentTypeError, match="plausible range"):
        positive_int("9" * 5000)  # never handed to int(): no 4300-digit ValueError


@pytest.mark.parametrize("text", ["h100=-5", "h100=nan", "h100=", "h100", "=3", "h100=inf", "h100=1e7"])
def test_price_option_refuses(text):
    from costmodel_cli.plan import _price

    with pytest.raises(argparse.ArgumentTypeError):
        _price(text)


def test_price_option_reads_name_and_usd():
    from costmodel_cli.plan import _price

    assert _price("H100=2.5") == ("h100", 2.5)


def test_search_refuses_unknown_hardware_and_bad_prices_before_searching():
    from costmodel.planners.search import search_serving, search_training

    with pytest.raises(HardwareError, match="h9000"):
        search_serving("llama-3-8b", ["h9000"], 100, 100, 1.0, 2.0, 0.05)
    with pytest.raises(CostModelError, match="positive finite"):
        search_training("llama-3-8b", ["h100"], [8], 8, 512, 1e9, price_per_hour={"h100": -5.0})
    with pytest.raises(CostModelError, match="not among the hardware"):
        search_training("llama-3-8b", ["h100"], [8], 8, 512, 1e9, price_per_hour={"h200": 3.0})


def test_reranker_metric_must_be_finite():
    from costmodel.planners.llm_extras import reranker_flops

    from costmodel.frontends import load_model_spec

    spec = load_model_spec("llama-3-8b")
    with pytest.raises(PlanError, match="metric"):
        reranker_flops(spec, 16, 16, 2, float("nan"))


# -- hardware numbers ------------------------------------------------------------------------
GOOD_PROFILE = {
    "name": "p",
    "vector": {"fp32_tflops": 20},
    "memory": {"bandwidth_GBps": 1000, "capacity_GiB": 16},
}


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_profile_bandwidth_is_finite_and_plausible_or_refused(bw):
    from costmodel.hardware.loader import profile_from_dict
    from costmodel.hardware.schema import PLAUSIBLE

    data = {**GOOD_PROFILE, "memory": {"bandwidth_GBps": bw, "capacity_GiB": 16}}
    try:
        p = profile_from_dict(data)
    except HardwareError as e:
        assert "bandwidth_GBps" in str(e)
        return
    lo, hi, _unit = PLAUSIBLE["bandwidth"]
    assert lo <= p.memory_bandwidth <= hi


def test_profile_files_are_read_as_regular_files_with_long_numbers_refused(tmp_path):
    from costmodel.hardware.loader import load_profile_file

    fifo = tmp_path / "hw.toml"
    os.mkfifo(fifo)
    with pytest.raises(HardwareError, match="hw.toml.*regular file"):
        load_profile_file(fifo)  # refused at once: nothing ever writes to this FIFO
    long = tmp_path / "long.toml"
    long.write_text(
        'name = "p"\n[vector]\nfp32_tflops = 20\n[memory]\nbandwidth_GBps = 1000\ncapacity_GiB = 1' + "0" * 200
    )
    # the range in the key's unit: 1e6 B / 2^30 = 0.000931323 GiB, 1e14 B / 2^30 = 93132.3 GiB
    with pytest.raises(HardwareError, match=r"capacity_GiB: a number of 201 digits; .*0\.000931323 to 93132\.3 GiB"):
        load_profile_file(long)
    cal = tmp_path / "cal.toml"
    cal.write_text(
        long.read_text().replace("1" + "0" * 200, "16") + "\n[calibration]\nkernel_overhead_s = " + "9" * 150
    )
    with pytest.raises(HardwareError, match=r"kernel_overhead_s: a number of 150 digits; .*0 to 0\.1 s"):
        load_profile_file(cal)


def test_profile_ranges_are_stated_in_the_unit_of_the_key():
    from costmodel.hardware.loader import profile_from_dict

    # 5e-324 GB/s is below 1e8 B/s = 0.1 GB/s; the top is 1e14 B/s = 100000 GB/s
    with pytest.raises(
        HardwareError, match=r"bandwidth_GBps = 5e-324 is outside the plausible range 0\.1 to 100000 GBps"
    ):
        profile_from_dict({**GOOD_PROFILE, "memory": {"bandwidth_GBps": 5e-324, "capacity_GiB": 16}})


def test_denormal_and_huge_peaks_are_refused():
    from costmodel.hardware.loader import profile_from_dict

    for v in (5e-324, 1e308):
        with pytest.raises(HardwareError, match="plausible range|too large"):
            profile_from_dict({**GOOD_PROFILE, "vector": {"fp32_tflops": v}})


calibration_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
)


@FAST
@given(
    st.sampled_from(["gemm_fraction", "kernel_overhead_s", "gemm_k_ramp", "gemm_tile_m", "softmax_passes"]),
    calibration_values,
)
def test_calibration_numbers_are_finite_in_range_or_refused(key, value):
    from costmodel.engine.calibration import Calibration
    from costmodel.hardware.calibration_schema import CALIBRATION_FIELDS

    data = {key: {"bf16": value}} if key == "gemm_fraction" else {key: value}
    try:
        cal = Calibration.from_mapping(data)
    except HardwareError as e:
        assert key in str(e)
        return
    got = cal.gemm_fraction["bf16"] if key == "gemm_fraction" else getattr(cal, key)
    spec = CALIBRATION_FIELDS[key]
    lo, hi = (spec[2][1], spec[2][2]) if spec[0] == "table" else (spec[1], spec[2])
    assert math.isfinite(got) and lo <= got <= hi
    if key == "gemm_fraction":
        assert got > 0  # a zero fraction divided by zero in the engine


def test_calibration_booleans_must_be_booleans():
    from costmodel.engine.calibration import Calibration

    with pytest.raises(HardwareError, match="true or false"):
        Calibration.from_mapping({"conv_bias_separate_kernel": "false"})


def _system_text(**over: str) -> str:
    d = {
        "name": '"mysys"',
        "device": '"h100"',
        "devices_per_node": "8",
    }
    d.update(over)
    head = "".join(f"{k} = {v}\n" for k, v in d.items() if v is not None)
    return head + (
        "[intra_node]\nbandwidth_per_direction_GBps = 450\nlatency_us = 3\n"
        "[inter_node]\nbandwidth_per_direction_per_device_GBps = 50\nlatency_us = 10\n"
    )


def test_system_files(tmp_path):
    from costmodel.hardware.systems import get_system

    ok = tmp_path / "MySystem.toml"  # capitals in the path: the path is not lower-cased
    ok.write_text(_system_text())
    s = get_system(str(ok))
    assert s.devices_per_node == 8 and s.intra.bandwidth == 450e9
    cases = {
        "nodev.toml": (_system_text(device=None), "device"),  # type: ignore[arg-type]
        "frac.toml": (_system_text(devices_per_node="8.5"), "integer"),
        "huge.toml": (_system_text(devices_per_node="1e9"), "plausible"),
    }
    for name, (text, msg) in cases.items():
        p = tmp_path / name
        p.write_text(text)
        with pytest.raises(HardwareError, match=msg):
            get_system(str(p))
    b = tmp_path / "bin.toml"
    b.write_bytes(_system_text().encode() + b'x = "\xff"\n')
    with pytest.raises(HardwareError, match="UTF-8"):
        get_system(str(b))


# -- counts past float range -------------------------------------------------------------------
def test_counts_past_float_range_are_a_limit_error_with_hardware_too(tmp_path):
    from onnx import helper

    from costmodel.api import analyze
    from tests.helpers import model, vi

    m = model([helper.make_node("Relu", ["a"], ["y"])], [vi("a", [2**62] * 17)], [vi("y", None)])
    p = tmp_path / "m.onnx"
    p.write_bytes(m.SerializeToString())
    for hw in (None, "h100"):
        with pytest.raises(LimitExceeded, match="2\\^996"):
            analyze(str(p), hardware=hw)


def test_engine_names_a_count_that_cannot_become_a_time():
    from costmodel.engine.roofline import concrete

    with pytest.raises(LimitExceeded, match="FLOPs of n0"):
        concrete(2**1100, "FLOPs", "n0")
    assert concrete(2**1000, "FLOPs", "n0") == float(2**1000)


# -- bounded symbolic work ---------------------------------------------------------------------
def test_bounded_falls_back_on_large_arguments_and_on_time():
    from costmodel.symbudget import CALL_SECONDS, bounded

    big = list(range(1000))

    class Node:
        def __init__(self, args):
            self.args = args

    tree = Node(tuple(Node(()) for _ in big))
    assert bounded(lambda t: "ran", lambda: "fallback", tree) == "fallback"
    assert bounded(lambda t: "ran", lambda: "fallback", Node(())) == "ran"

    def spin():
        end = time.monotonic() + 30
        while time.monotonic() < end:
            pass
        return "ran"

    t0 = time.monotonic()
    assert bounded(spin, lambda: "fallback") == "fallback"
    assert time.monotonic() - t0 < CALL_SECONDS + 2


def test_known_eq_and_smax_on_large_expressions_return_quickly():
    import sympy

    from costmodel.symbolic import known_eq, smax, symbol

    n, k = symbol("n"), symbol("k")
    e = n
    for _ in range(7):  # the If-doubling pattern: Max(2e, e + k) per level
        e = sympy.Max(2 * e, e + k, evaluate=False)
    t0 = time.monotonic()
    assert known_eq(2 * e, e + k) is None  # undecidable, and not decided at any cost
    m = smax(2 * e, e + k)
    assert isinstance(m, sympy.Max)
    assert time.monotonic() - t0 < 5


def test_the_deadline_is_checked_at_every_node():
    from costmodel.limits import Limits

    lim = Limits(max_seconds=0.0).start()
    time.sleep(0.01)
    with pytest.raises(LimitExceeded, match="longer than"):
        lim.tick()  # the first node after the deadline, not the 256th


# -- spec sizes ---------------------------------------------------------------------------
@FAST
@given(st.integers(min_value=1, max_value=10**12))
def test_spec_layers_are_bounded_and_the_bound_can_be_raised(layers):
    from costmodel.frontends.spec import spec_from_dict
    from costmodel.limits import MAX_SPEC_LAYERS, raised_spec_limits

    data = {
        "name": "s",
        "architecture": "decoder",
        "vocab_size": 64,
        "hidden_size": 32,
        "num_layers": layers,
        "num_heads": 2,
        "intermediate_size": 64,
    }
    if layers <= MAX_SPEC_LAYERS:
        assert spec_from_dict(data).num_layers == layers
    else:
        with pytest.raises(LimitExceeded, match="--max-layers"):
            spec_from_dict(data)
        with raised_spec_limits(max_layers=layers):
            assert spec_from_dict(data).num_layers == layers


def test_hf_config_widths_are_bounded():
    from costmodel.frontends.spec import spec_from_hf

    cfg = {
        "model_type": "llama",
        "vocab_size": 10,
        "hidden_size": 2**40,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 8,
    }
    with pytest.raises(LimitExceeded, match="hidden_size.*--max-width"):
        spec_from_hf(cfg)


# -- outputs ----------------------------------------------------------------------------------
@FAST
@given(st.text(min_size=1, max_size=40))
def test_calibrate_writes_any_name_as_toml_data(name):
    from costmodel.hardware.calibrate import profile_toml

    cpu = {  # measure_cpu's figures for a small machine
        "threads": 4,
        "load_before": 0.1,
        "gemm": {"fp32": [(128, 1e11)]},
        "gemm_peak": 1.2e11,
        "gemm_half_flops": 1e6,
        "fp64_flops": 5e10,
        "gemv_bandwidth": 1.5e10,
        "stream_bandwidth": 2e10,
        "elementwise_flops": 4e9,
        "op_overhead_s": 2e-6,
    }
    text = profile_toml(name, cpu, None)
    d = tomllib.loads(text)
    assert d["name"] == name and set(d) >= {"vector", "memory", "calibration"}


def test_calibrate_refuses_a_bad_target_before_measuring(tmp_path, monkeypatch):
    import costmodel.hardware.calibrate as cal
    from costmodel_cli.main import main

    monkeypatch.setattr(cal, "calibrate", lambda *a, **k: pytest.fail("measured before checking the target"))
    victim = tmp_path / "victim.onnx"
    victim.write_bytes(b"model")
    assert main(["calibrate", "-o", str(victim)]) == 2
    assert main(["calibrate", "-o", str(tmp_path)]) == 2
    assert main(["calibrate", "--name", "a b", "-o", str(tmp_path / "p.toml")]) == 2
    assert victim.read_bytes() == b"model"


def test_batch_streams_and_keeps_what_finished_when_interrupted(tmp_path, monkeypatch, capsys):
    import costmodel.batch as batch
    from costmodel_cli.main import main

    def fake(paths, on_result=None, **kw):
        yield {"model": "a", "ok": True}
        yield {"model": "b", "ok": True}
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "iter_summaries", fake)
    rc = main(["batch", "a", "b", "c", "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 130
    assert [r["model"] for r in json.loads(out)] == ["a", "b"]
    assert "2 of 3" in err


def test_every_json_dump_is_strict():
    """JSON is written with allow_nan=False everywhere (product, benchmarks, tools)."""
    loose = []
    for folder in ("costmodel", "cli", "benchmarks", "tools"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("dump", "dumps")
                    and getattr(node.func.value, "id", None) == "json"
                    and not any(k.arg == "allow_nan" for k in node.keywords)
                ):
                    loose.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not loose


def test_usage_errors_show_hostile_arguments_inert(capsys):
    from costmodel_cli.main import main

    assert main(["analyze", "--format", "\x1b[1mq\u202e"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\u202e" not in err and "--format" in err
    assert main(["plan", "serve", "m", "-H", "h100", "--prompt-len", "1", "--output-len", "1", "--rate", "1",
                 "--price", "\x1b[31m=x"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "\x1b" not in err and "--price" in err


@pytest.mark.parametrize("token", [b"NODE", b"DIMP", b"Relu", b"INPA", b"GRAPH", b"alpha"])
def test_onnx_text_that_is_not_utf8_is_refused(token):
    """Protobuf hands back a proto2 string that is not UTF-8 as bytes (found by the ONNX
    byte fuzzer: a bytes domain reached str.startswith)."""
    from onnx import TensorProto, helper

    from costmodel.api import analyze
    from costmodel.frontends.onnx_proto import parse_model

    g = helper.make_graph(
        [helper.make_node("Relu", ["INPA"], ["y"], name="NODE", alpha=1.0)],
        "GRAPH",
        [helper.make_tensor_value_info("INPA", TensorProto.FLOAT, ["DIMP"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    blob = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    assert analyze(parse_model(blob)).flops == symbol_of("DIMP")  # Relu: one FLOP per element
    with pytest.raises(ModelLoadError, match="UTF-8"):
        analyze(parse_model(blob.replace(token, b"\xff" + token[1:])))


def symbol_of(name: str):
    from costmodel.symbolic import symbol

    return symbol(name)


# -- main's newer commands and spec blocks (merged after issue 19) -----------------------------
@pytest.mark.parametrize(
    "argv, flag",
    [
        (["scale", "--flops", "1e300"], "--flops"),
        (["scale", "--params", "nan", "--tokens", "1e9"], "--params"),
        (["scale", "--flops", "1e24", "--mfu", "1.5"], "--mfu"),
        (["diffusion", "sd-1.5-unet", "-H", "h100", "--steps", "0"], "--steps"),
        (["diffusion", "sd-1.5-unet", "-H", "h100", "--guidance-scale", "inf"], "--guidance-scale"),
        (
            [
                "rerank",
                "llama-3-8b",
                "--strategy",
                "pointwise",
                "--docs",
                "4",
                "--doc-len",
                "8",
                "--query-len",
                "8",
                "--metric",
                "nan",
            ],
            "--metric",
        ),  # fmt: skip
        (
            [
                "rerank",
                "llama-3-8b",
                "--strategy",
                "pointwise",
                "--docs",
                "4",
                "--doc-len",
                str(2**40),
                "--query-len",
                "8",
            ],
            "--doc-len",
        ),  # fmt: skip
        (["memory", "llama-3-8b", "--contexts", "1024,0"], "--contexts"),
        (["memory", "llama-3-8b", "--contexts", "9" * 5000], "--contexts"),
        (["batch", "x.onnx", "-j", "100000"], "--jobs"),
        (["llm", "llama-3-8b", "-H", "h100", "--spec-heads", "medusa", "--tree", "64,64,64"], "--tree"),
        (["llm", "llama-3-8b", "-H", "h100", "--spec-heads", "medusa", "--acceptance", "1.5"], "--acceptance"),
        (["llm", "llama-3-8b", "-H", "h100", "--output-lens", "100:nan"], "--output-lens"),
        (
            [
                "train",
                "llama-3-8b",
                "-H",
                "h100",
                "--gpus",
                "8",
                "--batch",
                "8",
                "--seq-len",
                "512",
                "--shard-group",
                "0",
            ],
            "--shard-group",
        ),
        (["llm", "llama-3-8b", "-H", "h100", "--rate", "5", "--percentile", "100"], "--percentile"),
        (["llm", "llama-3-8b", "-H", "h100", "--rate", "5", "--replicas", "0"], "--replicas"),
        (["llm", "llama-3-8b", "-H", "h100", "--rate", "5", "--simulate", str(10**7)], "--simulate"),
        (
            [
                "plan",
                "serve",
                "llama-3-8b",
                "-H",
                "h100",
                "--prompt-len",
                "9" * 5000,
                "--output-len",
                "8",
                "--rate",
                "1",
            ],
            "--prompt-len",
        ),
        (
            [
                "plan",
                "serve",
                "llama-3-8b",
                "-H",
                "h100",
                "--prompt-len",
                "512",
                "--output-len",
                "8",
                "--rate",
                "1",
                "--price",
                "h200=3",
            ],
            "h200",
        ),
    ],
)
def test_newer_commands_refuse_implausible_numbers(capsys, argv, flag):
    from costmodel_cli.main import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("costmodel: error:") and flag in err[0]


@pytest.mark.parametrize(
    "block, field, value, flag",
    [
        ("cnn", "widths", [256, 512, 1024, 2**21], "--max-width"),
        ("unet", "transformers", [1, 1, 1, 5000], "--max-layers"),
        ("unet", "context_len", 2**31, "--max-width"),
        ("rglru", "lru_width", 2**21, "--max-width"),
    ],
)
def test_spec_sizes_of_the_newer_blocks_are_bounded(block, field, value, flag):
    from costmodel.frontends import load_model_spec
    from costmodel.frontends.spec import spec_from_dict
    from costmodel.limits import raised_spec_limits

    base = {"cnn": "resnet-50", "unet": "sd-1.5-unet", "rglru": "recurrentgemma-2b"}[block]
    spec = load_model_spec(base)
    data = {**_spec_mapping(spec), block: {**_spec_mapping(getattr(spec, block)), field: value}}
    with pytest.raises(LimitExceeded, match=f"{block}: {field}.*{flag}"):
        spec_from_dict(data)
    big = max(value) if isinstance(value, list) else value
    with raised_spec_limits(max_layers=big, max_width=big):  # the flag raises the bound
        try:
            spec_from_dict(data)
        except LimitExceeded:  # pragma: no cover - the assertion below says what failed
            pytest.fail(f"{flag} did not raise the bound on {block}.{field}")
        except SpecError:
            pass  # a raised size may fail the block's own consistency checks


def _spec_mapping(rec) -> dict:
    """A record's set fields as the mapping a spec file would give (nested records too)."""
    import dataclasses
    import enum

    out = {}
    for f in dataclasses.fields(rec):
        v = getattr(rec, f.name)
        if v is None or f.name in ("name_or_path",):
            continue
        if dataclasses.is_dataclass(v):
            v = _spec_mapping(v)
        elif isinstance(v, enum.Enum):
            v = v.value
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def test_a_number_too_long_in_a_system_or_config_file_names_its_key(tmp_path, monkeypatch):
    from costmodel.hardware.systems import get_system
    from costmodel_cli import settings

    sys_file = tmp_path / "Big.toml"
    sys_file.write_text(_system_text(devices_per_node="9" * 200))
    with pytest.raises(HardwareError, match="devices_per_node: a number of 200 digits"):
        get_system(str(sys_file))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    (tmp_path / "costmodel.toml").write_text("[prices]\nh100 = " + "9" * 200 + "\n")
    with pytest.raises(CostModelError, match="h100: a number of 200 digits"):
        settings.load()


def test_configured_prices_reach_plan_only_for_the_hardware_searched(tmp_path, monkeypatch):
    from costmodel_cli import settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    (tmp_path / "costmodel.toml").write_text("[prices]\nh100 = 2.5\nh200 = 3.5\n")
    args = argparse.Namespace(hardware=["H100"], price=[])
    settings.apply_after_parse(args, settings.load())
    assert args.price == [("h100", 2.5)]  # h200's price is not an error: it is not searched


def test_batch_table_shows_what_finished_when_interrupted(monkeypatch, capsys):
    import costmodel.batch as batch
    from costmodel_cli.main import main

    def fake(paths, on_result=None, **kw):
        yield {"model": "first.onnx", "ok": True, "nodes": 1, "flops": 2, "macs": 1, "params": 0,
               "bytes_read": 8, "latency_s": None, "unsupported": 0}  # fmt: skip
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "iter_summaries", fake)
    assert main(["batch", "first.onnx", "second.onnx", "--format", "table", "--no-progress"]) == 130
    out, err = capsys.readouterr()
    assert "first.onnx" in out and "1 of 2" in err


def test_batch_workers_get_the_raised_spec_limits(monkeypatch):
    """A worker process does not share the caller's context: the raised limits travel with
    each task."""
    import costmodel.batch as batch
    from costmodel.limits import SpecLimits, raised_spec_limits

    seen = []
    monkeypatch.setattr(batch, "summarize_task", lambda a: seen.append(a[1].get("spec_limits")) or {"ok": True})
    with raised_spec_limits(max_layers=4096):
        list(batch.iter_summaries(["a.yaml"], jobs=1))
    list(batch.iter_summaries(["a.yaml"], jobs=1))
    assert seen == [SpecLimits(max_layers=4096), None]


def test_a_simulation_past_its_token_budget_is_refused_before_it_runs():
    """One request of 2^30 output tokens is 2^30 steps of the simulator's loop."""
    from costmodel.planners import serving_sim
    from costmodel.planners.serving_load import Lengths, Load

    load = Load(1.0, Lengths.fixed(512), Lengths.fixed(1 << 30), 0.99)
    with pytest.raises(PlanError, match="simulate fewer requests"):
        serving_sim.simulate(None, load, requests=1)  # type: ignore[arg-type]  # refused before the table is read
    assert 2000 * (512 + 128) <= serving_sim.MAX_SIMULATED_TOKENS  # the default run of llm --simulate fits
