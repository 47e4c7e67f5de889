"""Fuzzing every input path of issue 19 with hypothesis: ONNX bytes, model specs, Hugging
Face configs, hardware profiles, systems, calibration tables and command lines. Each input
must either be accepted, with every number that comes out finite, or be refused with a
costmodel error; never another exception, a NaN or an infinity. The command-line fuzzer
also checks what the acceptance of issue 19 checks: exit 0 or 2, one error line, strict
JSON, no raw control byte.

A short run here; `make fuzz` runs every fuzzer long (COSTMODEL_FUZZ_EXAMPLES, see
docs/robustness.md for the figures of the last long run)."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from costmodel.errors import CostModelError
from tests.hostile_corpus import EVIL

N = int(os.environ.get("COSTMODEL_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")

# numbers as a hostile user writes them: edges of every range, non-finite, huge, tiny
numbers = st.one_of(
    st.integers(-3, 70),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2**31, 2**62, 2**63, 10**15, 10**30, 10**99]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([5e-324, 1e-300, 0.5, 1e308, -0.0]),
)
texts = st.one_of(st.text(max_size=12), st.sampled_from([EVIL, "", " ", "[/]", "=1+1", "a|b\nc", "../../x"]))
values = st.one_of(numbers, texts, st.booleans(), st.none())


def _finite(x) -> None:
    """Every float reachable from a result is finite."""
    if isinstance(x, float):
        assert math.isfinite(x), x
    elif isinstance(x, dict):
        for v in x.values():
            _finite(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _finite(v)


# -- ONNX -----------------------------------------------------------------------------------
def _vi(name, shape, dt=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dt, shape)


def _seed_models() -> list[bytes]:
    from tests.hostile_corpus import if_doubling

    out = []
    g = helper.make_graph(
        [
            helper.make_node("MatMul", ["a", "w"], ["m"]),
            helper.make_node("Softmax", ["m"], ["s"], axis=-1),
            helper.make_node("Reshape", ["s", "shape"], ["y"]),
        ],
        "g",
        [_vi("a", ["batch", 8]), _vi("w", [8, 16])],
        [_vi("y", None)],
        [helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 4])],
    )
    out.append(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    import tempfile

    with tempfile.TemporaryDirectory() as t:
        out.append(Path(if_doubling(Path(t) / "i.onnx", 3)).read_bytes())
    return out


SEEDS = _seed_models()


@st.composite
def mutated_onnx(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "byte", "cut", "insert", "dup"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and data:
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            data = data[:i]
        elif kind == "insert":
            data[i:i] = draw(st.binary(max_size=16))
        elif kind == "dup" and data:
            j = draw(st.integers(i, len(data)))
            data[i:i] = data[i:j][:4096]
    return bytes(data)


@FUZZ
@given(mutated_onnx())
def test_fuzz_onnx_bytes(data):
    from costmodel.api import analyze
    from costmodel.frontends.onnx_proto import parse_model
    from costmodel.limits import Limits

    try:
        m = parse_model(data)
    except Exception:  # the protobuf parser refuses it: the loader reports that as ModelLoadError
        return
    try:
        r = analyze(m, limits=Limits(max_seconds=10))
        _finite(r.to_dict())
    except CostModelError:
        pass


@FUZZ
@given(
    st.lists(st.one_of(st.integers(-2, 2**63 - 1), st.text(max_size=6)), min_size=0, max_size=40),
    st.sampled_from(["Relu", "Softmax", "ReduceSum", "Transpose"]),
    st.sampled_from([None, "h100"]),
)
def test_fuzz_onnx_shapes(dims, op, hw):
    """Any declared shape: huge ranks and dims, negative dims, any dim_param text."""
    from costmodel.api import analyze
    from costmodel.limits import Limits

    g = helper.make_graph([helper.make_node(op, ["a"], ["y"])], "g", [_vi("a", dims)], [_vi("y", None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    try:
        r = analyze(m, hardware=hw, limits=Limits(max_seconds=10))
        _finite(r.to_dict())
        assert r.latency_s is None or math.isfinite(r.latency_s)
    except CostModelError:
        pass


# -- specs and Hugging Face configs -------------------------------------------------------
SPEC_KEYS = [
    "hidden_size",
    "num_layers",
    "vocab_size",
    "num_heads",
    "num_kv_heads",
    "head_dim",
    "intermediate_size",
    "max_position",
    "sliding_window",
    "global_every",
    "num_decoder_layers",
]
BASE_SPEC = {
    "name": "s",
    "architecture": "decoder",
    "vocab_size": 64,
    "hidden_size": 32,
    "num_layers": 2,
    "num_heads": 2,
    "intermediate_size": 64,
}


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from([*SPEC_KEYS, "architecture", "mlp", "moe", "name", "layer_types"]), values, max_size=4
    ),
    st.sampled_from([None, "yaml", "json", "toml"]),
)
def test_fuzz_specs(tmp_path_factory, changes, text_format):
    from costmodel.frontends.spec import load_spec, spec_from_dict
    from costmodel.planners.llm import plan_llm

    data = {**BASE_SPEC, **changes}
    try:
        if text_format is None:
            spec = spec_from_dict(data)
        else:
            p = tmp_path_factory.mktemp("s") / f"s.{text_format}"
            try:
                p.write_text(_serialise(data, text_format), encoding="utf-8")
            except (ValueError, TypeError, UnicodeEncodeError):
                return  # not writable in that format (None in TOML, lone surrogates)
            spec = load_spec(str(p))
        plan = plan_llm(spec, "h100", prompt_len=16, output_len=4)
        _finite(plan.to_dict())
    except CostModelError:
        pass


def _serialise(data: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, allow_nan=True)  # NaN on purpose: the loader must refuse it
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(data)
    import tomli_w

    return tomli_w.dumps({k: v for k, v in data.items() if v is not None})


HF_KEYS = [
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
    "head_dim",
    "sliding_window",
    "num_local_experts",
    "num_experts_per_tok",
    "max_position_embeddings",
    "rope_scaling",
    "tie_word_embeddings",
    "hidden_act",
    "n_routed_experts",
    "kv_lora_rank",
]


@FUZZ
@given(
    st.sampled_from(["llama", "mistral", "mixtral", "qwen2", "gpt2", "deepseek_v3", "mamba", "bert", "t5", "gemma2"]),
    st.dictionaries(st.sampled_from(HF_KEYS), values, max_size=5),
)
def test_fuzz_hf_configs(model_type, changes):
    from costmodel.frontends.spec import MODEL_TYPES, spec_from_hf
    from costmodel.planners.llm import plan_llm

    if model_type not in MODEL_TYPES:
        return
    cfg = {
        "model_type": model_type,
        "vocab_size": 64,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        **changes,
    }
    try:
        spec = spec_from_hf(cfg)
        _finite(plan_llm(spec, "h100", prompt_len=8, output_len=2).to_dict())
    except CostModelError:
        pass


# -- hardware profiles, calibration tables, systems -------------------------------------------
PROFILE_FIELDS = {
    "matrix": ["bf16_tflops", "fp8_tflops", "int8_tops", "fp16_pflops"],
    "vector": ["fp32_tflops", "fp64_gflops"],
    "memory": ["capacity_GiB", "bandwidth_GBps", "l2_MiB", "bandwidth_TBps"],
    "compute": ["units", "clock_MHz", "special_function_per_s"],
    "interconnect": ["bandwidth_per_direction_GBps", "latency_us", "links", "name"],
    "price": ["usd_per_hour"],
}


@st.composite
def profiles(draw) -> dict:
    d: dict = {
        "name": draw(st.one_of(st.just("p"), texts)),
        "vector": {"fp32_tflops": 20},
        "memory": {"capacity_GiB": 16, "bandwidth_GBps": 1000},
    }
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from(sorted(PROFILE_FIELDS)))
        key = draw(st.sampled_from(PROFILE_FIELDS[table]))
        d.setdefault(table, {})[key] = draw(values)
    return d


CAL_KEYS = [
    "gemm_fraction",
    "kernel_overhead_s",
    "gemm_k_ramp",
    "gemm_tile_m",
    "stream_bandwidth_fraction",
    "eager_dispatch_s",
    "conv_bias_separate_kernel",
    "conv_fp32_math",
    "attention_min_rows",
    "unknown_key",
]


@st.composite
def calibrations(draw) -> dict:
    out: dict = {}
    for key in draw(st.lists(st.sampled_from(CAL_KEYS), max_size=4)):
        if key in ("gemm_fraction", "eager_dispatch_s") and draw(st.booleans()):
            out[key] = {draw(st.sampled_from(["bf16", "fp32", "default", "x"])): draw(values)}
        else:
            out[key] = draw(values)
    return out


def _tiny_graph_cost():
    from costmodel.analysis import analyze_graph
    from costmodel.api import load_graph

    g = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
        "g",
        [_vi("a", [64, 64]), _vi("b", [64, 64])],
        [_vi("z", None)],
    )
    return analyze_graph(load_graph(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))[0])


@FUZZ
@given(profiles(), st.one_of(st.none(), calibrations()))
def test_fuzz_profiles_and_calibration_tables(data, calibration):
    from costmodel.engine.latency import graph_latency
    from costmodel.hardware.loader import profile_from_dict

    if calibration is not None:
        data = {**data, "calibration": calibration}
    try:
        p = profile_from_dict(data)
        t = graph_latency(_tiny_graph_cost(), p)
        assert math.isfinite(t.latency_s) and t.latency_s > 0
        _finite(t.to_dict())
    except CostModelError:
        pass


@FUZZ
@given(
    st.dictionaries(st.sampled_from(["name", "display_name", "device", "devices_per_node", "x"]), values, max_size=4),
    st.dictionaries(st.sampled_from(["bandwidth_per_direction_GBps", "latency_us", "name", "y"]), values, max_size=3),
    st.binary(max_size=8),
)
def test_fuzz_system_files(tmp_path_factory, top, tier, junk):
    import tomli_w

    from costmodel.hardware.systems import get_system

    doc = {
        "device": "h100",
        "devices_per_node": 8,
        **{k: v for k, v in top.items() if v is not None},
        "intra_node": {
            "bandwidth_per_direction_GBps": 450,
            "latency_us": 3,
            **{k: v for k, v in tier.items() if v is not None},
        },
        "inter_node": {"bandwidth_per_direction_per_device_GBps": 50, "latency_us": 10},
    }
    try:
        text = tomli_w.dumps(doc).encode("utf-8", "surrogatepass")
    except (ValueError, TypeError):
        return
    p = tmp_path_factory.mktemp("sys") / "Sys.toml"
    p.write_bytes(text + (b"\n# " + junk if junk else b""))
    try:
        s = get_system(str(p))
        assert s.devices_per_node >= 1 and math.isfinite(s.intra.bandwidth) and s.intra.bandwidth > 0
    except CostModelError:
        pass


# -- command lines --------------------------------------------------------------------------
option_values = st.one_of(
    numbers.map(lambda v: repr(v) if isinstance(v, float) else str(v)),
    st.sampled_from(["nan", "inf", "-inf", "1e308", "1" + "0" * 200, "0x10", "1_000", " 7 ", "", "h100=", "=3"]),
    texts,
)
COMMANDS = {
    "llm": (
        ["llm", "llama-3-8b", "--hardware", "h100"],
        [
            "--batch",
            "--prompt-len",
            "--output-len",
            "--tp",
            "--pp",
            "--price-per-hour",
            "--rate",
            "--spec-k",
            "--acceptance",
            "--calls",
            "--doc-len",
            "--metric",
            "--reranker-docs",
            "--prefill-chunk",
            "--output-lens",
            "--max-layers",
        ],
    ),
    "train": (
        ["train", "llama-3-8b", "--hardware", "h100", "--gpus", "8", "--batch", "8", "--seq-len", "512"],
        [
            "--gpus",
            "--batch",
            "--seq-len",
            "--micro-batch",
            "--tp",
            "--pp",
            "--dp",
            "--tokens",
            "--price-per-hour",
            "--interleave",
            "--zero",
        ],
    ),
    "plan-serve": (
        [
            "plan",
            "serve",
            "llama-3-8b",
            "--hardware",
            "h100",
            "--prompt-len",
            "64",
            "--output-len",
            "16",
            "--rate",
            "1",
        ],
        ["--prompt-len", "--output-len", "--rate", "--ttft", "--tpot", "--price", "--top"],
    ),
    "analyze": (
        ["analyze", "--example", "resnet50"],
        [
            "--set",
            "--top",
            "--max-seconds",
            "--max-nodes",
            "--max-expr-nodes",
            "--max-file-mib",
            "--depth",
            "--dtype",
            "--hardware",
        ],
    ),
}


@FUZZ
@given(
    st.sampled_from(sorted(COMMANDS)),
    st.lists(st.tuples(st.integers(0, 30), option_values), max_size=3),
    st.sampled_from(["json", "table", "csv"]),
)
def test_fuzz_command_lines(capsys, command, picks, fmt):
    from costmodel_cli.main import main

    base, options = COMMANDS[command]
    argv = list(base)
    for i, v in picks:
        argv += [options[i % len(options)], v]
    argv += ["--format", fmt]
    if command == "llm":
        argv += ["--no-breakdown"]
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc in (0, 2), (argv, err)
    assert "Traceback" not in err
    assert not RAW.search(out) and not RAW.search(err)
    if rc == 2:
        assert err.count("\n") == 1 and err.startswith("costmodel: error:"), err
    elif fmt == "json":
        json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
