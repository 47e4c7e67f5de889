"""The second hostile corpus (issue 19): about eighty inputs a hostile or careless user
could give, written into a folder by `build(folder)`. Each case is a command line and what
must hold for it; tests/test_hostile_corpus.py runs them under a 4 GiB address-space limit
and checks every one. Nothing here is a binary file checked in: every input is generated.

Expectations: "bad" = exit 2 with one line on stderr naming `names` (the input file, the
key or the option); "ok" = exit 0; "any" = exit 0 or 2 (an odd-but-valid input may be
analysed or refused, but never exit 1, never a traceback, never past the time limit)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from onnx import TensorProto, helper

# every user-visible string below carries these: terminal escapes, bidi, rich markup,
# spreadsheet formulas, Markdown table breakers
EVIL = "\x1b[31mx\x1b]8;;file:///etc/passwd\x07[bold red]=cmd|a\nb\u202e[/]"
EVIL_FILE = "e\x1b[1mvil[bold]=1|x\u202e"  # a file name cannot hold '/' or NUL


@dataclass
class Case:
    name: str
    argv: list[str]
    expect: str  # "ok" | "bad" | "any"
    names: tuple[str, ...] = ()  # what a "bad" error line must mention
    output: str | None = None  # a file the command writes, checked for its format
    max_s: float = 20.0
    extra: dict = field(default_factory=dict)


def _vi(name: str, shape, dt=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dt, shape)


def _save(path: Path, nodes, inputs, outputs, inits=(), opset: int = 17, domains=None) -> str:
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in (domains or {}).items()]
    g = helper.make_graph(list(nodes), "g", list(inputs), list(outputs), list(inits))
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = 8
    path.write_bytes(m.SerializeToString())
    return str(path)


def if_doubling(path: Path, levels: int) -> str:
    """Each If's branches make the dim 2E or E + k: merging them doubles the expression."""
    nodes, prev = [], "x"
    for i in range(levels):
        a = helper.make_graph(
            [helper.make_node("Concat", [prev, prev], [f"ta{i}"], axis=0)], f"a{i}", [], [_vi(f"ta{i}", None)]
        )
        b = helper.make_graph(
            [helper.make_node("Concat", [prev, "m"], [f"tb{i}"], axis=0)], f"b{i}", [], [_vi(f"tb{i}", None)]
        )
        nodes.append(helper.make_node("If", ["c"], [f"y{i}"], then_branch=a, else_branch=b))
        prev = f"y{i}"
    return _save(path, nodes, [_vi("c", [], TensorProto.BOOL), _vi("x", ["n"]), _vi("m", ["k"])], [_vi(prev, None)])


def _relu(path: Path, shape) -> str:
    return _save(path, [helper.make_node("Relu", ["a"], ["y"])], [_vi("a", shape)], [_vi("y", None)])


SPEC = "name: s\narchitecture: decoder\nvocab_size: 64\nhidden_size: 32\nnum_layers: 2\nnum_heads: 2\nintermediate_size: 64\n"
PROFILE = (
    'name = "p"\nkind = "gpu"\n[matrix]\nbf16_tflops = 100\n[vector]\nfp32_tflops = 20\n'
    "[memory]\nbandwidth_GBps = 1000\ncapacity_GiB = 16\n"
)
SYSTEM = (
    'name = "mysys"\ndevice = "h100"\ndevices_per_node = 8\n[intra_node]\nbandwidth_per_direction_GBps = 450\n'
    "latency_us = 3\n[inter_node]\nbandwidth_per_direction_per_device_GBps = 50\nlatency_us = 10\n"
)
H = ["--hardware", "h100"]
LLM = ["llm", "llama-3-8b", *H]
PLAN_T = ["plan", "train", "llama-3-8b", *H, "--gpus", "8", "--batch", "8", "--seq-len", "2048"]
PLAN_S = ["plan", "serve", "llama-3-8b", "--prompt-len", "100", "--output-len", "100", "--rate", "1"]


def build(d: Path) -> list[Case]:  # noqa: PLR0915 - one flat list reads best
    d.mkdir(parents=True, exist_ok=True)
    w = lambda name, data: _write(d / name, data)  # noqa: E731
    c: list[Case] = []

    # -- ONNX files ------------------------------------------------------------------------
    small = _relu(d / "small.onnx", [4, 4])
    c.append(Case("garbage", ["analyze", w("garbage.onnx", os.urandom(3000)), "--format", "json"], "bad", ("garbage",)))
    c.append(Case("empty", ["analyze", w("empty.onnx", b"")], "bad", ("empty.onnx",)))
    fifo = d / "model.onnx"
    os.mkfifo(fifo)
    c.append(Case("fifo", ["analyze", str(fifo)], "bad", ("model.onnx", "regular file"), max_s=10))
    c.append(Case("dev-zero", ["analyze", "/dev/zero"], "bad", ("/dev/zero",), max_s=10))
    c.append(Case("directory", ["analyze", str(d)], "bad", ("directory",)))
    c.append(Case("missing", ["analyze", str(d / "nope.onnx")], "bad", ("nope.onnx",)))
    zeros = d / "zeros.onnx"
    with open(zeros, "wb") as f:
        f.truncate(20 << 20)  # sparse: 20 MiB of zero bytes takes the memory-mapped path
    c.append(Case("zeros-20MiB", ["analyze", str(zeros)], "bad", ("zeros.onnx",)))
    c.append(Case("too-big-for-limit", ["analyze", small, "--max-file-mib", "0"], "bad", ("--max-file-mib",)))
    ifd = if_doubling(d / "ifdouble.onnx", 8)
    c.append(Case("if-doubling", ["analyze", ifd, "--format", "json"], "any"))
    c.append(Case("if-doubling-2s", ["analyze", ifd, "--max-seconds", "2", "--format", "json"], "any", max_s=10))
    c.append(Case("if-doubling-html", ["analyze", ifd, "--format", "html"], "any"))
    c.append(Case("if-doubling-12", ["analyze", if_doubling(d / "if12.onnx", 12), "--format", "json"], "any"))
    bang = _save(
        d / "bang.onnx",
        [helper.make_node("Add", ["a", "b"], ["y"])],
        [_vi("a", ["n!"]), _vi("b", ["n?"])],
        [_vi("y", None)],
    )
    c.append(Case("dim-params-distinct", ["analyze", bang, "--format", "json"], "ok", extra={"symbols": 2}))
    c.append(Case("dim-param-set-original", ["analyze", bang, "--set", "n!=4", "--set", "n?=4"], "ok"))
    huge = _relu(d / "huge.onnx", [2**62] * 17)
    c.append(Case("2^62x17-dims", ["analyze", huge, "--format", "json"], "bad", ("huge.onnx",)))
    c.append(Case("2^62x17-dims-hw", ["analyze", huge, *H, "--format", "json"], "bad", ("huge.onnx",)))
    c.append(Case("rank-300", ["analyze", _relu(d / "rank300.onnx", [2**62] * 300), "--format", "csv"], "bad"))
    big = 10**15
    mm = _save(
        d / "astro.onnx",
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        [_vi("a", [big, big]), _vi("b", [big, big])],
        [_vi("y", None)],
    )
    c.append(Case("astronomical-but-valid", ["analyze", mm, *H, "--format", "json"], "ok"))
    neg = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["a"], ["y"])], "g", [_vi("a", [4])], [_vi("y", None)]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    neg.graph.input[0].type.tensor_type.shape.dim[0].dim_value = -3
    c.append(Case("negative-dim", ["analyze", w("neg.onnx", neg.SerializeToString())], "bad", ("neg.onnx",)))
    evil_nodes = [helper.make_node("Relu", ["x"], ["y"], name=EVIL), helper.make_node(EVIL, ["y"], ["z"], domain="x.y")]
    evil = _save(d / (EVIL_FILE + ".onnx"), evil_nodes, [_vi("x", [2, 3])], [_vi("z", [2, 3])], domains={"x.y": 1})
    for fmt in ("table", "json", "csv", "markdown", "html"):
        c.append(Case(f"evil-names-{fmt}", ["analyze", evil, "--format", fmt, "--per-op"], "ok"))
    c.append(Case("evil-names-roofline", ["roofline", evil, *H, "--format", "markdown"], "ok"))
    cyc = _save(
        d / "cycle.onnx",
        [helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])],
        [],
        [_vi("b", [2])],
    )
    c.append(Case("cycle", ["analyze", cyc], "bad", ("cycle",)))
    c.append(Case("set-huge-binding", ["analyze", bang, "--set", "n!=1" + "0" * 30], "bad", ("--set",)))
    c.append(Case("set-float-binding", ["analyze", bang, "--set", "n!=1e3"], "bad", ("--set",)))
    c.append(Case("max-seconds-0", ["analyze", small, "--max-seconds", "0"], "bad", ("--max-seconds",)))

    # -- outputs never destroy inputs --------------------------------------------------------
    pngmodel = _relu(d / "model.png", [4, 4])  # an ONNX file with a plot's suffix
    c.append(Case("plot-over-model", ["roofline", pngmodel, *H, "--plot", pngmodel], "bad", ("input",)))
    c.append(Case("plot-dev-full", ["roofline", small, *H, "--plot", "/dev/full"], "bad", ("/dev/full",)))
    c.append(Case("plot-missing-folder", ["roofline", small, *H, "--plot", str(d / "no/x.png")], "bad", ("no",)))
    (d / "adir.png").mkdir()
    c.append(Case("plot-on-directory", ["roofline", small, *H, "--plot", str(d / "adir.png")], "bad", ("directory",)))
    spec_json = w("spec.json", json.dumps(_spec_dict()))
    c.append(Case("output-over-input", ["analyze", spec_json, "--output", spec_json], "bad", ("input",)))
    c.append(Case("output-missing-folder", ["analyze", small, "--output", str(d / "no/x.json")], "bad", ("no",)))
    c.append(
        Case(
            "output-on-directory", ["analyze", small, "--format", "json", "--output", str(d) + "/"], "bad", ("folder",)
        )
    )
    victim = _relu(d / "victim.onnx", [4, 4])
    c.append(
        Case("calibrate-over-model", ["calibrate", "--quick", "--cpu-only", "-o", victim], "bad", ("victim",), max_s=5)
    )
    c.append(Case("calibrate-bad-name", ["calibrate", "--cpu-only", "--name", 'a"\n[x]'], "bad", ("--name",), max_s=5))
    c.append(
        Case(
            "calibrate-writes-toml",
            ["calibrate", "--quick", "--cpu-only", "--name", "box-1", "-o", str(d / "box.toml")],
            "ok",
            output=str(d / "box.toml"),
        )
    )
    bad_name = w("d[/x]" + EVIL_FILE.replace("/", "") + ".onnx", b"junk")
    for fmt in ("json", "csv", "table"):
        c.append(Case(f"batch-mixed-{fmt}", ["batch", small, bad_name, evil, "--format", fmt, "-j", "1"], "bad"))
    c.append(Case("llm-output-over-spec", ["llm", spec_json, *H, "--output", spec_json], "bad", ("input",)))
    c.append(Case("output-report-md", ["analyze", evil, "--output", str(d / "r.md")], "ok", output=str(d / "r.md")))
    c.append(Case("output-report-csv", ["analyze", evil, "--output", str(d / "r.csv")], "ok", output=str(d / "r.csv")))

    # -- specs and configs -------------------------------------------------------------------
    c.append(
        Case(
            "layers-1e9",
            ["llm", w("layers.yaml", SPEC.replace("num_layers: 2", "num_layers: 1000000000")), *H],
            "bad",
            ("num_layers", "--max-layers"),
            max_s=10,
        )
    )
    c.append(Case("layers-1e9-analyze", ["analyze", str(d / "layers.yaml")], "bad", ("num_layers",), max_s=10))
    c.append(
        Case(
            "hidden-10^2200-yaml",
            ["llm", w("h2200.yaml", SPEC.replace("hidden_size: 32", "hidden_size: 1" + "0" * 2200)), *H],
            "bad",
            ("hidden_size", "plausible range"),
        )
    )
    c.append(
        Case(
            "hidden-10^5000-json",
            [
                "llm",
                w("h5000.json", json.dumps(_spec_dict()).replace('"hidden_size": 32', '"hidden_size": 1' + "0" * 5000)),
                *H,
            ],
            "bad",
            ("hidden_size", "plausible range"),
        )
    )
    c.append(
        Case(
            "hidden-10^5000-toml",
            ["llm", w("h5000.toml", _toml_spec().replace("hidden_size = 32", "hidden_size = 1" + "0" * 5000)), *H],
            "bad",
            ("hidden_size", "plausible range"),
        )
    )
    hf = {
        "model_type": "llama",
        "vocab_size": 10,
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 8,
    }
    c.append(
        Case(
            "hf-hidden-10^2200",
            ["llm", w("config.json", json.dumps(hf).replace('"hidden_size": 8', '"hidden_size": 1' + "0" * 2200)), *H],
            "bad",
            ("hidden_size", "plausible range"),
        )
    )
    c.append(
        Case(
            "hf-hidden-2^40",
            ["llm", w("hf40/config.json", json.dumps({**hf, "hidden_size": 2**40})), *H],
            "bad",
            ("hidden_size", "--max-width"),
        )
    )
    c.append(
        Case(
            "hf-remote-code",
            [
                "llm",
                w(
                    "hfrc/config.json",
                    json.dumps({**hf, "auto_map": {"AutoModel": "evil.Model"}, "trust_remote_code": True}),
                ),
                *H,
            ],
            "any",
        )
    )
    c.append(
        Case(
            "experts-1e9",
            [
                "llm",
                w("moe.yaml", SPEC + "moe: {num_experts: 1000000000, top_k: 2, expert_intermediate_size: 8}\n"),
                *H,
            ],
            "bad",
            ("num_experts",),
        )
    )
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    c.append(Case("yaml-bomb", ["llm", w("bomb.yaml", bomb), *H], "bad", ("bomb.yaml",)))
    sentinel = d / "pwned"
    c.append(
        Case(
            "yaml-python-tag",
            ["llm", w("tag.yaml", f"name: !!python/object/apply:os.system ['touch {sentinel}']\n"), *H],
            "bad",
            ("tag.yaml",),
            extra={"absent": str(sentinel)},
        )
    )
    c.append(
        Case(
            "json-nan",
            ["llm", w("nan.json", '{"name": "x", "architecture": "decoder", "hidden_size": NaN, "num_layers": 2}'), *H],
            "bad",
            ("nan.json",),
        )
    )
    c.append(
        Case(
            "spec-bool-width",
            ["llm", w("bool.yaml", SPEC.replace("hidden_size: 32", "hidden_size: true")), *H],
            "bad",
            ("hidden_size", "integer"),
        )
    )
    c.append(
        Case("spec-non-utf8", ["llm", w("latin.yaml", SPEC.encode() + b"notes: caf\xe9\n"), *H], "bad", ("latin.yaml",))
    )
    fifo_spec = d / "pipe.yaml"
    os.mkfifo(fifo_spec)
    c.append(Case("spec-fifo", ["llm", str(fifo_spec), *H], "bad", ("pipe.yaml",), max_s=10))
    c.append(
        Case(
            "spec-evil-name",
            ["llm", w("evil.yaml", SPEC.replace("name: s", "name: " + json.dumps(EVIL))), *H, "--format", "markdown"],
            "ok",
        )
    )

    # -- hardware profiles, calibration tables, systems ----------------------------------------
    c.append(
        Case(
            "profile-denormal",
            [
                "analyze",
                small,
                "--hardware",
                w("den.toml", PROFILE.replace("bandwidth_GBps = 1000", "bandwidth_GBps = 5e-324")),
            ],
            "bad",
            ("bandwidth",),
        )
    )
    c.append(
        Case(
            "profile-1e308",
            [
                "analyze",
                small,
                "--hardware",
                w("p308.toml", PROFILE.replace("bf16_tflops = 100", "bf16_tflops = 1e308")),
            ],
            "bad",
            ("bf16_tflops",),
        )
    )
    c.append(
        Case(
            "profile-10^5000",
            [
                "analyze",
                small,
                "--hardware",
                w("p5000.toml", PROFILE.replace("capacity_GiB = 16", "capacity_GiB = 1" + "0" * 5000)),
            ],
            "bad",
            ("capacity_GiB",),
        )
    )
    for tag, val in (("zero", "0"), ("nan", "nan"), ("1e308", "1e308"), ("string", '"x"'), ("negative", "-1")):
        prof = w(f"cal_{tag}.toml", PROFILE + f"[calibration]\ngemm_fraction = {{ bf16 = {val} }}\n")
        c.append(
            Case(
                f"calibration-{tag}",
                ["analyze", small, "--hardware", prof, "--format", "json"],
                "bad",
                ("gemm_fraction",),
            )
        )
    c.append(
        Case(
            "calibration-time-inf",
            [
                "analyze",
                small,
                "--hardware",
                w("cal_inf.toml", PROFILE + "[calibration]\nkernel_overhead_s = inf\n"),
                "--format",
                "json",
            ],
            "bad",
            ("kernel_overhead_s",),
        )
    )
    c.append(
        Case(
            "profile-non-utf8",
            ["analyze", small, "--hardware", w("bin.toml", b'name = "\xff"\n')],
            "bad",
            ("bin.toml",),
        )
    )
    fifo_hw = d / "hw.toml"
    os.mkfifo(fifo_hw)
    c.append(Case("profile-fifo", ["analyze", small, "--hardware", str(fifo_hw)], "bad", ("hw.toml",), max_s=10))
    c.append(
        Case(
            "profile-evil-name",
            [
                "hardware",
                "show",
                w("evilp.toml", PROFILE.replace('name = "p"', 'name = "p"\ndisplay_name = ' + json.dumps(EVIL))),
                "--format",
                "json",
            ],
            "ok",
        )
    )
    c.append(
        Case(
            "system-non-utf8",
            [
                "train",
                "llama-3-8b",
                "--hardware",
                w("sys_bin.toml", SYSTEM.encode() + b'display_name = "\xff"\n'),
                "--gpus",
                "8",
                "--batch",
                "8",
                "--seq-len",
                "512",
            ],
            "bad",
            ("sys_bin.toml",),
        )
    )
    c.append(
        Case(
            "system-no-device",
            [
                "train",
                "llama-3-8b",
                "--hardware",
                w("nodev.toml", SYSTEM.replace('device = "h100"\n', "")),
                "--gpus",
                "8",
                "--batch",
                "8",
                "--seq-len",
                "512",
            ],
            "bad",
            ("device",),
        )
    )
    c.append(
        Case(
            "system-capitals-ok",
            [
                "train",
                "llama-3-8b",
                "--hardware",
                w("MySystem.toml", SYSTEM),
                "--gpus",
                "8",
                "--batch",
                "8",
                "--seq-len",
                "512",
            ],
            "ok",
        )
    )
    c.append(
        Case(
            "system-negative-bw",
            [
                "plan",
                "train",
                "llama-3-8b",
                "--hardware",
                w("negsys.toml", SYSTEM.replace("= 450", "= -450")),
                "--gpus",
                "8",
                "--batch",
                "8",
                "--seq-len",
                "512",
                "--tokens",
                "1e9",
            ],
            "bad",
            ("bandwidth",),
        )
    )
    c.append(
        Case(
            "system-unknown-device",
            [
                "train",
                "llama-3-8b",
                "--hardware",
                w("sys9000.toml", SYSTEM.replace('"h100"', '"h9000"')),
                "--gpus",
                "8",
                "--batch",
                "8",
                "--seq-len",
                "512",
            ],
            "bad",
            ("h9000",),
        )
    )

    # -- command-line numbers ------------------------------------------------------------------
    c.append(Case("prompt-len-10^200", [*LLM, "--prompt-len", "1" + "0" * 200], "bad", ("--prompt-len",)))
    c.append(Case("prompt-len-max", [*LLM, "--prompt-len", str(1 << 30), "--format", "json"], "any"))
    c.append(Case("metric-nan", [*LLM, "--reranker-docs", "10", "--metric", "nan"], "bad", ("--metric",)))
    c.append(Case("acceptance-1", [*LLM, "--draft", "llama-3-8b", "--acceptance", "1"], "bad", ("--acceptance",)))
    c.append(Case("output-lens-junk", [*LLM, "--output-lens", "1,x"], "bad", ("--output-lens",)))
    c.append(Case("batch-0", [*LLM, "--batch", "0"], "bad", ("--batch",)))
    c.append(Case("tp-10^30", [*LLM, "--tp", "1" + "0" * 30], "bad", ("--tp",)))
    c.append(Case("price-per-hour-inf", [*LLM, "--price-per-hour", "inf"], "bad", ("--price-per-hour",)))
    for p in ("h100=-5", "h100=nan", "h100=", "h100", "=3"):
        c.append(Case(f"price-{p}", [*PLAN_T, "--tokens", "1e12", "--goal", "cost", "--price", p], "bad", ("--price",)))
    c.append(Case("price-for-other-hw", [*PLAN_T, "--tokens", "1e12", "--price", "h200=3"], "bad", ("h200",)))
    c.append(Case("tokens-1e308", [*PLAN_T, "--tokens", "1e308"], "bad", ("--tokens",)))
    c.append(
        Case(
            "train-tokens-inf",
            ["train", "llama-3-8b", *H, "--gpus", "8", "--batch", "8", "--seq-len", "512", "--tokens", "inf"],
            "bad",
            ("--tokens",),
        )
    )
    c.append(Case("plan-serve-unknown-hw", [*PLAN_S, "--hardware", "h9000"], "bad", ("h9000",)))
    c.append(Case("plan-serve-rate-neg", [*PLAN_S, *H, "--rate", "-1"], "bad", ("--rate",)))
    c.append(Case("plan-serve-ok-json", [*PLAN_S, *H, "--format", "json"], "ok"))
    c.append(
        Case("gpus-max", ["train", "llama-3-8b", *H, "--gpus", str(1 << 20), "--batch", "8", "--seq-len", "512"], "any")
    )
    return c


def _spec_dict() -> dict:
    return {
        "name": "s",
        "architecture": "decoder",
        "vocab_size": 64,
        "hidden_size": 32,
        "num_layers": 2,
        "num_heads": 2,
        "intermediate_size": 64,
    }


def _toml_spec() -> str:
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in _spec_dict().items())


def _write(path: Path, data: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return str(path)
