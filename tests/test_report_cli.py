"""Every command's output is complete in every format: per-op and top-N tables, by-type
time for every domain, the module tree, LLM breakdowns and extra sections, plans as
typed columns, comparisons, plots, --output files and 80-column tables."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
from onnx import helper

from costmodel_cli.main import main
from tests.helpers import init, model, vi

RESNET = os.path.join(os.path.dirname(__file__), "..", "costmodel", "examples", "resnet50.onnx")


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def ok(capsys, *argv) -> str:
    rc, out, err = run(capsys, *argv)
    assert rc == 0, err
    return out


def strict_json(text: str):
    def bad(c):
        raise ValueError(f"non-standard JSON constant {c}")

    return json.loads(text, parse_constant=bad)


def csv_tables(text: str) -> list[list[list[str]]]:
    """A CSV document's blocks (one, or several after '# title' lines)."""
    blocks: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if not row:
            blocks.append([])
        elif not (len(row) == 1 and row[0].startswith("# ")):
            blocks[-1].append(row)
    return [b for b in blocks if b]


@pytest.fixture(scope="module")
def resnet_json():
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["analyze", RESNET, "--hardware", "h100", "--format", "json"]) == 0
    return strict_json(buf.getvalue())


def test_analyze_json_by_type_has_time_that_adds_up(resnet_json):
    d = resnet_json
    assert all("time_s" in v for v in d["by_type"].values())
    assert sum(v["time_s"] for v in d["by_type"].values()) == pytest.approx(d["latency_s"], rel=1e-9)
    assert sum(op["time_s"] for op in d["ops"]) == pytest.approx(d["latency_s"], rel=1e-9)


def test_by_type_time_for_ops_outside_the_default_domain(capsys):
    # a spec lowers to costmodel::Linear and com.microsoft::GroupQueryAttention: their time
    # used to be '-' (grouped by op_type while costs were grouped by domain::op_type)
    out = ok(capsys, "analyze", "llama-3.2-1b", "--set", "batch=1", "--set", "seq=16", "-H", "h100", "--format", "json")
    d = strict_json(out)
    assert d["by_type"]["costmodel::Linear"]["time_s"] > 0
    assert d["by_type"]["com.microsoft::GroupQueryAttention"]["time_s"] > 0
    assert sum(v["time_s"] for v in d["by_type"].values()) == pytest.approx(d["latency_s"], rel=1e-9)
    out = ok(
        capsys,
        "analyze",
        "llama-3.2-1b",
        "--set",
        "batch=1",
        "--set",
        "seq=16",
        "-H",
        "h100",
        "--by-type",
        "--format",
        "markdown",
    )
    line = next(x for x in out.splitlines() if x.startswith("| costmodel::Linear"))
    assert line.rstrip(" |").split("|")[-2].strip() not in ("-", "0 s")


def test_analyze_csv_is_one_row_per_op_with_time_and_shapes(capsys, resnet_json):
    out = ok(capsys, "analyze", RESNET, "--hardware", "h100", "--format", "csv")
    (table,) = csv_tables(out)
    head, rows = table[0], table[1:]
    assert {"name", "time_s", "time_share", "flops_share", "input_shapes", "output_shapes"} <= set(head)
    assert len(rows) == len([o for o in resnet_json["ops"] if o["status"] != "folded"])
    first = dict(zip(head, rows[0]))
    assert first["output_shapes"] == "1x64x112x112"  # the stem conv: 64 channels at 112x112
    assert (
        int(first["flops"]) == resnet_json["ops"][[o["name"] for o in resnet_json["ops"]].index(first["name"])]["flops"]
    )


def test_top_and_per_op_in_markdown(capsys, resnet_json):
    n_ops = len([o for o in resnet_json["ops"] if o["status"] != "folded"])
    out = ok(capsys, "analyze", RESNET, "-H", "h100", "--top", "3", "--format", "markdown")
    assert "top 3 of" in out and f"({n_ops - 3} other ops)" in out and "| time |" in out.replace("% time", "")
    out = ok(capsys, "analyze", RESNET, "-H", "h100", "--per-op", "--format", "markdown")
    assert f"every op ({n_ops})" in out


def test_by_type_view_has_no_top_table(capsys):
    out = ok(capsys, "analyze", RESNET, "--by-type")
    assert "by op type" in out and "top 10" not in out


def test_tables_fit_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    for argv in (
        ("analyze", RESNET, "-H", "h100", "--tree"),
        ("hardware", "list"),
        ("ops",),
        ("llm", "llama-3.2-1b", "-H", "h100", "--prompt-len", "64", "--output-len", "4", "--per-op"),
        (
            "plan",
            "train",
            "gpt-2",
            "-H",
            "h100",
            "--gpus",
            "8",
            "--batch",
            "64",
            "--seq-len",
            "1024",
            "--tokens",
            "1e9",
            "--top",
            "5",
        ),
    ):
        out = ok(capsys, *argv)
        assert max(len(line) for line in out.splitlines()) <= 80, argv


def test_module_tree_from_onnx_scopes(capsys, tmp_path):
    import numpy as np

    # x[1,4] @ W[4,4] per node: 2*1*4*4 = 32 FLOPs; two in /enc/l0, one in /enc/l1, one in /head
    names = ["/enc/l0/MatMul", "/enc/l0/MatMul_1", "/enc/l1/MatMul", "/head/MatMul"]
    nodes, inits, x = [], [], "x"
    for i, n in enumerate(names):
        inits.append(init(f"w{i}", np.ones((4, 4), np.float32)))
        nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"y{i}"], name=n))
        x = f"y{i}"
    m = model(nodes, [vi("x", [1, 4])], [vi(x, [1, 4])], inits)
    path = tmp_path / "scoped.onnx"
    path.write_bytes(m.SerializeToString())
    out = ok(capsys, "analyze", path, "--tree", "--depth", "2", "--format", "json")
    tree = {t["path"]: t for t in strict_json(out)["tree"]}
    assert tree[""]["flops"] == 4 * 32
    assert tree["enc"]["flops"] == 3 * 32 and tree["enc"]["flops_share"] == pytest.approx(0.75)
    assert tree["enc/l0"]["flops"] == 2 * 32 and tree["enc/l1"]["flops"] == 32 and tree["head"]["flops"] == 32
    assert tree["enc"]["params"] == 3 * 16  # three 4x4 weights
    out = ok(capsys, "analyze", path, "--tree", "--depth", "1", "--format", "csv")
    (table,) = csv_tables(out)
    assert [r[0] for r in table[1:]] == ["(model)", "enc", "head"]


def test_spec_tree_has_blocks_and_time(capsys):
    out = ok(
        capsys, "analyze", "gpt-2", "--set", "batch=1", "--set", "seq=16", "-H", "h100", "--tree", "--format", "json"
    )
    tree = {t["path"]: t for t in strict_json(out)["tree"]}
    layers = "layers[0..11]x12"  # every layer of GPT-2 is the same: one group of 12 copies
    assert {"embed", layers, f"{layers}/attn", f"{layers}/mlp", "head"} <= set(tree)
    assert tree[f"{layers}/attn"]["time_s"] > 0
    from costmodel.analysis import analyze_graph
    from costmodel.frontends import spec_graph
    from costmodel.frontends.builtin import get_spec

    g = spec_graph(get_spec("gpt-2"), {"batch": 1, "seq": 16}, unrolled=True)
    one = analyze_graph(g, bindings={"batch": 1, "seq": 16}).by_scope(1)["layers0"]
    assert tree[layers]["flops"] == 12 * one.flops


@pytest.fixture(scope="module")
def llm_outputs():
    import contextlib

    argv = [
        "llm",
        "llama-3.2-1b",
        "-H",
        "h100",
        "--prompt-len",
        "64",
        "--output-len",
        "8",
        "--rate",
        "2",
        "--draft",
        "llama-3.2-1b",
        "--shared-prefix",
        "128",
        "--calls",
        "2",
        "--output-lens",
        "4,8",
        "--reranker-docs",
        "4",
    ]
    outs = {}
    for fmt in ("json", "markdown", "csv", "html", "table"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(argv + ["--format", fmt]) == 0
        outs[fmt] = buf.getvalue()
    return outs


TITLES = ("continuous batching", "speculative decoding", "shared-prefix", "output-length", "reranker")


def test_llm_json_counts_are_exact_ints_and_breakdown_adds_up(llm_outputs):
    d = strict_json(llm_outputs["json"])
    for phase in ("prefill", "decode"):
        assert type(d[phase]["flops"]) is int and type(d[phase]["bytes"]) is int
        comps = d["breakdown"][phase]["components"]
        assert {"attention", "mlp", "norm", "head", "embedding"} <= set(comps)
        assert sum(c["time_s"] for c in comps.values()) == pytest.approx(d[phase]["latency_s"], rel=1e-9)
        assert "unattributed" not in comps
    assert set(d["extras"]) == {
        "continuous_batching",
        "speculative",
        "shared_prefix",
        "output_distribution",
        "reranker",
    }


def visible_text(page: str) -> str:
    """What a person sees of an HTML page: text outside tags, scripts and styles."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.out: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("script", "style")

        def handle_endtag(self, tag):
            self.skip -= tag in ("script", "style")

        def handle_data(self, data):
            if not self.skip:
                self.out.append(data)

    p = P()
    p.feed(page)
    return " ".join(p.out)


@pytest.mark.parametrize("fmt", ["markdown", "csv", "html", "table"])
def test_llm_extras_in_every_format(llm_outputs, fmt):
    out = llm_outputs[fmt] if fmt != "html" else visible_text(llm_outputs["html"])
    for t in TITLES:
        assert t in out, (fmt, t)
    if fmt != "csv":  # CSV keeps machine keys; people read labels
        for raw in ("tpot_s", "prefill_share", "throughput_tokens_per_s", "stable True"):
            assert raw not in out, (fmt, raw)
    assert "1e+" not in out.replace("e+0", "") or fmt == "csv"


def test_llm_rate_is_a_rate_not_a_time(llm_outputs):
    line = next(x for x in llm_outputs["markdown"].splitlines() if x.startswith("| throughput |"))
    assert "tokens/s" in line and "min" not in line


def test_llm_per_op_and_breakdown_tables(capsys):
    out = ok(
        capsys,
        "llm",
        "llama-3.2-1b",
        "-H",
        "h100",
        "--prompt-len",
        "32",
        "--output-len",
        "2",
        "--per-op",
        "--format",
        "csv",
    )
    tables = csv_tables(out)
    heads = [t[0] for t in tables]
    assert ["component", "ops", "time_s", "share", "flops", "bytes", "intensity", "bound"] in heads
    per_op = [t for t in tables if t[0][:2] == ["segment", "name"]]
    assert len(per_op) == 2 and all(len(t) > 10 for t in per_op)


def test_plot_without_sweep_is_a_usage_error(capsys, tmp_path):
    rc, _, err = run(capsys, "llm", "llama-3.2-1b", "-H", "h100", "--plot", tmp_path / "c.png")
    assert rc == 2 and "--sweep" in err and not (tmp_path / "c.png").exists()


def test_sweep_plot_and_missing_folder(capsys, tmp_path):
    png = tmp_path / "sweep.png"
    rc, _, _ = run(
        capsys,
        "llm",
        "llama-3.2-1b",
        "-H",
        "h100",
        "--prompt-len",
        "32",
        "--output-len",
        "2",
        "--sweep",
        "--plot",
        png,
        "--no-breakdown",
        "--format",
        "json",
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rc, _, err = run(capsys, "llm", "llama-3.2-1b", "-H", "h100", "--sweep", "--plot", tmp_path / "no" / "c.png")
    assert rc == 2 and "does not exist" in err


def test_sweep_chart_labels_both_y_axes():
    """Issue 18: the sweep plot had two unlabeled y axes."""
    from costmodel.planners.llm import ServingCase, sweep_batches
    from costmodel.report.llm_report import sweep_chart

    ch = sweep_chart(sweep_batches(ServingCase.of("llama-3.2-1b", "h100", prompt_len=64, output_len=4), [1, 2]))
    assert ch.x_label and ch.y_label and ch.y2_label
    assert {s.axis for s in ch.series} == {"y", "y2"}


def test_batch_at_80_columns_keeps_formulas_whole(capsys, monkeypatch, tmp_path):
    """Issue 18: `batch` wrapped names and broke formulas mid-token at 80 columns."""
    from tests.graphs import transformer_block

    monkeypatch.setenv("COLUMNS", "80")
    block = tmp_path / "a_transformer_block_with_a_long_file_name.onnx"
    block.write_bytes(transformer_block().SerializeToString())
    out = ok(capsys, "batch", block, RESNET, "--no-progress")
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = [line for line in out.splitlines() if "batch*seq" in line]
    assert len(rows) == 1 and "76*batch*seq**2 + 4392*batch*seq" in rows[0]


def test_roofline_plot_with_zero_flop_ops(capsys, tmp_path):
    # llama-3-8b lowers with 0-FLOP ops that move bytes (the embedding gather): no divide by zero
    png = tmp_path / "r.png"
    out = ok(
        capsys,
        "roofline",
        "llama-3-8b",
        "-H",
        "h100",
        "--set",
        "batch=1",
        "--set",
        "seq=64",
        "--plot",
        png,
        "--format",
        "json",
    )
    d = strict_json(out)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert d["memory_only_ops"] >= 1 and all(o["flops"] > 0 for o in d["ops"])
    assert d["dtype"] == "bf16" and "matrix bf16" in d["roofs"]


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_roofline_plot_of_a_spec_assumes_documented_bindings(capsys, tmp_path):
    """Issue 18's acceptance: `roofline llama-3-8b --hardware h100 --plot FILE` writes a PNG.
    A spec's free dims take batch=1 and seq=min(2048, context) (llama-3-8b: 8192), said
    on stderr; --set overrides each."""
    from costmodel.frontends import DEFAULT_SEQ

    png = tmp_path / "r.png"
    rc, out, err = run(capsys, "roofline", "llama-3-8b", "--hardware", "h100", "--plot", png, "--format", "json")
    assert rc == 0, err
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert strict_json(out)["bindings"] == {"batch": 1, "seq": min(DEFAULT_SEQ, 8192)}
    assert err.count("\n") == 1 and "assumed batch=1, seq=2048" in err
    rc, out, err = run(capsys, "roofline", "llama-3-8b", "-H", "h100", "--set", "seq=64", "--format", "json")
    assert rc == 0 and strict_json(out)["bindings"] == {"batch": 1, "seq": 64}
    assert "assumed batch=1 " in err and "seq" not in err
    rc, out, err = run(capsys, "roofline", "llama-3-8b", "-H", "h100", "--set", "seq=64", "--set", "batch=2")
    assert rc == 0 and err == ""


def test_default_seq_is_capped_by_the_context():
    from costmodel.frontends import DEFAULT_SEQ, default_bindings, load_model_spec

    spec = load_model_spec("gpt-2")
    assert spec.max_position == 1024 < DEFAULT_SEQ  # model_specs/gpt-2: GPT-2's n_positions
    assert default_bindings(spec) == {"batch": 1, "seq": 1024}
    assert default_bindings(spec, {"batch": 4}) == {"seq": 1024}


def test_roofline_plot_of_a_graph_with_zero_flop_ops(capsys, tmp_path):
    """Reshape and Transpose move bytes (or none) with zero FLOPs: the plot is still written."""
    n = helper.make_node
    m = model(
        [
            n("MatMul", ["x", "w"], ["h"]),
            n("Reshape", ["h", "shape"], ["r"]),
            n("Transpose", ["r"], ["y"], perm=[1, 0]),
        ],
        [vi("x", [8, 16])],
        [vi("y", None)],
        [init("w", np.zeros((16, 32), dtype=np.float32)), init("shape", np.array([16, 16], dtype=np.int64))],
    )
    src = tmp_path / "z.onnx"
    src.write_bytes(m.SerializeToString())
    png = tmp_path / "z.png"
    rc, out, err = run(capsys, "roofline", src, "-H", "h100", "--plot", png, "--format", "json")
    assert rc == 0, err
    assert png.read_bytes()[:8] == PNG_MAGIC
    d = strict_json(out)
    assert d["bindings"] == {} and err == ""  # an ONNX file's dims are its own: nothing assumed
    assert d["memory_only_ops"] >= 1


def test_roofline_convs_use_the_tf32_roof(capsys):
    out = ok(capsys, "roofline", RESNET, "-H", "h100", "--format", "json")
    d = strict_json(out)
    convs = [o for o in d["ops"] if o["op_type"] == "Conv"]
    assert convs and all(o["roof"] == "matrix tf32" for o in convs)
    assert d["roofs"]["matrix tf32"] == 494.5e12  # H100 SXM dense TF32 (hardware_profiles/h100-sxm5-80gb.toml)


def test_roofline_says_why_each_op_is_bound(capsys):
    """Each op names the term that bounds it: its compute at a fraction of its roof's peak,
    its traffic at a fraction of the bandwidth, or a launch overhead longer than the kernel;
    the fraction is its own FLOPs (bytes) over its compute (memory) time, over the roof.
    Every timed op carries its 80% band."""
    d = strict_json(ok(capsys, "roofline", RESNET, "-H", "h100", "--format", "json"))
    seen = set()
    for o in d["ops"]:
        lo, hi = o["latency_band_s"]
        assert lo <= o["time_s"] <= hi
        seen.add(o["bound"])
        if o["bound"] == "compute":
            assert o["why"].endswith("of peak") and 0 < float(o["why"].split("%")[0]) <= 100
        elif o["bound"] == "memory":
            assert o["why"].endswith("of bandwidth") and 0 < float(o["why"].split("%")[0]) <= 100
        elif o["bound"] == "overhead":
            assert o["why"].startswith("launch ") and "> kernel" in o["why"]
    assert {"compute", "memory"} <= seen
    table = ok(capsys, "roofline", RESNET, "-H", "h100", "--format", "csv")
    assert table.splitlines()[0].split(",")[-2:] == ["bound", "why"]


def test_roofline_plot_refuses_its_input(capsys, tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(open(RESNET, "rb").read())
    before = src.read_bytes()
    rc, _, _err = run(capsys, "roofline", src, "-H", "h100", "--plot", src)
    assert rc == 2 and src.read_bytes() == before


def test_output_file_by_suffix_and_never_an_input(capsys, tmp_path):
    out_md = tmp_path / "r.md"
    rc, out, err = run(capsys, "analyze", RESNET, "-o", out_md)
    assert out == "" and out_md.read_text().startswith("# costmodel: resnet50.onnx")
    src = tmp_path / "m.json"
    src.write_text("{}")
    rc, _, err = run(capsys, "train", src, "-H", "h100", "--gpus", "1", "--batch", "1", "--seq-len", "8", "-o", src)
    assert rc == 2 and src.read_text() == "{}"
    rc, _, err = run(capsys, "analyze", RESNET, "-o", tmp_path / "report.xyz")
    assert rc == 2 and "suffix" in err


def test_train_and_plan_show_numbers_as_columns(capsys):
    out = ok(
        capsys,
        "train",
        "gpt-2",
        "-H",
        "h100",
        "--gpus",
        "8",
        "--batch",
        "64",
        "--seq-len",
        "1024",
        "--format",
        "markdown",
    )
    assert "| MFU (model FLOPs utilization) |" in out and "| step time |" in out
    out = ok(
        capsys,
        "plan",
        "train",
        "gpt-2",
        "-H",
        "h100",
        "--gpus",
        "8",
        "--batch",
        "64",
        "--seq-len",
        "1024",
        "--tokens",
        "1e9",
        "--top",
        "3",
        "--format",
        "csv",
    )
    (table,) = csv_tables(out)
    assert {"hardware", "gpus", "tp", "step_s", "mfu", "time_s"} <= set(table[0]) and len(table) == 4
    assert "step_s 0" not in out


def test_compare_ratios_and_hardware_shortcut(capsys):
    out = ok(
        capsys,
        "compare",
        "gpt-2",
        "--set",
        "batch=1",
        "--set",
        "seq=32",
        "--dtype",
        "fp32,bf16",
        "-H",
        "h100",
        "--format",
        "json",
    )
    d = strict_json(out)
    v = d["variants"]
    assert [x["dtype"] for x in v] == ["fp32", "bf16"]
    assert v[0]["ratios"]["latency_s"] == 1.0
    assert v[1]["ratios"]["latency_s"] == pytest.approx(v[1]["metrics"]["latency_s"] / v[0]["metrics"]["latency_s"])
    assert v[0]["metrics"]["flops"] == v[1]["metrics"]["flops"]  # the dtype does not change FLOPs
    out = ok(capsys, "analyze", RESNET, "--hardware", "h100,a100", "--format", "csv")
    (table,) = csv_tables(out)
    assert [r[0] for r in table[1:]] == ["h100", "a100"] and "latency_s_ratio" in table[0]
    out = ok(
        capsys,
        "llm",
        "llama-3.2-1b",
        "--hardware",
        "h100,h200",
        "--prompt-len",
        "32",
        "--output-len",
        "2",
        "--format",
        "json",
    )
    assert [x["hardware"] for x in strict_json(out)["variants"]] == ["h100", "h200"]


def test_specs_name_is_a_summary(capsys):
    out = ok(capsys, "specs", "llama-3.2-1b")
    assert "layers" in out and "params" in out and "1.24 G" in out
    assert not out.lstrip().startswith("{") and "norm_bias" not in out


def test_batch_survives_markup_in_a_failing_path(capsys, tmp_path):
    d = tmp_path / "d["
    d.mkdir()
    bad = d / "x].onnx"
    bad.write_bytes(b"not an onnx file")
    rc, out, err = run(capsys, "batch", bad, RESNET, "-j", "1")
    assert rc == 2 and "x].onnx" in out and "Traceback" not in err
