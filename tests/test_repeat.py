"""`analyze SPEC` lowers each distinct layer once and carries its repeat count
(frontends.lower.assemble, ir.graph.Repeat): every total must equal the fully unrolled
graph's (frontends.spec_graph(..., unrolled=True)) exactly — FLOPs, MACs, bytes by role,
params, weight bytes, peak live activations — and the latency up to float rounding."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import costmodel
from costmodel.analysis import analyze_graph
from costmodel.engine.latency import graph_latency
from costmodel.errors import CostModelError
from costmodel.frontends import default_bindings, spec_graph
from costmodel.frontends.builder import GraphBuilder
from costmodel.frontends.builtin import get_spec, names
from costmodel.frontends.lower import LayerSet, Segment, assemble, group_layers, unroll
from costmodel.frontends.spec import spec_from_dict
from costmodel.hardware import get_profile
from costmodel.ir.dtypes import dtype
from costmodel.limits import raised_spec_limits
from costmodel.symbolic import symbol

FP16 = dtype("fp16")


def _totals(g, bindings):
    gc = analyze_graph(g, bindings=bindings)
    t = gc.total
    fields = (t.flops, t.macs, t.transcendentals, t.read_weights, t.read_activations, t.read_kv)
    return gc, (*fields, t.write_activations, t.write_kv, gc.params, gc.weight_bytes, gc.peak_activation_bytes)


def _bound(spec):
    return {k: (16 if k == "seq" else v) for k, v in default_bindings(spec).items()}


@pytest.mark.parametrize("name", names())
def test_repeated_layers_total_as_the_unrolled_graph(name):
    spec = get_spec(name)
    for bindings in (_bound(spec), {}):  # bound, and symbolic in batch and seq
        g, full = spec_graph(spec, bindings), spec_graph(spec, bindings, unrolled=True)
        (gc, got), (gf, want) = _totals(g, bindings), _totals(full, bindings)
        assert got == want
        assert gc.coverage == gf.coverage
        assert gc.by_type() == gf.by_type()
    assert len(g.nodes) <= len(full.nodes)


@pytest.mark.parametrize("name", ["gemma-2-9b", "llama-3-8b", "mixtral-8x7b", "t5-base", "vit-b-16", "mamba-2.8b"])
@pytest.mark.parametrize("execution", ["graph", "eager"])
def test_repeated_layers_time_as_the_unrolled_graph(name, execution):
    spec = get_spec(name)
    b = _bound(spec)
    hw = get_profile("h100")
    tc = graph_latency(analyze_graph(spec_graph(spec, b), bindings=b), hw, execution=execution)
    tf = graph_latency(analyze_graph(spec_graph(spec, b, unrolled=True), bindings=b), hw, execution=execution)
    assert tc.kernels == tf.kernels
    for f in ("latency_s", "compute_s", "memory_s", "overhead_s", "ideal_s"):
        assert getattr(tc, f) == pytest.approx(getattr(tf, f), rel=1e-9), f
    if execution == "graph":
        # eager copies of a kernel can differ by the pipeline state they meet (the first of
        # a block, the steady ones after it): a row's bound and band are its copies' together
        assert tc.by_bound() == pytest.approx(tf.by_bound(), rel=1e-9)
        assert tc.band == pytest.approx(tf.band, rel=1e-9)


# -- peak live memory: graph inputs of every copy are live from the start ---------------
def _eager_moe_spec(layers: int):
    return spec_from_dict(
        {
            "name": "eager-moe",
            "architecture": "decoder",
            "vocab_size": 64,
            "hidden_size": 32,
            "num_heads": 2,
            "intermediate_size": 64,
            "num_layers": layers,
            "head": "lm",  # the class's own code: eager RMSNorm scalars, expert loop buffers
            "attn_implementation": "eager",
            "sliding_window": 4,
            "global_every": 3,
            "moe": {"num_experts": 4, "top_k": 2, "expert_intermediate_size": 16, "layer_freq": 2},
        }
    )


@pytest.mark.parametrize("layers", [1, 2, 7, 12])
def test_peak_with_per_copy_inputs_equals_the_unrolled_peak(layers):
    spec = _eager_moe_spec(layers)
    for bindings in ({"batch": 2, "seq": 8}, {}):
        g = spec_graph(spec, bindings)
        assert layers < 3 or g.repeats  # the expert loop's buffers and indices are inputs of each copy
        assert _totals(g, bindings)[1] == _totals(spec_graph(spec, bindings, unrolled=True), bindings)[1]


def _layer(extra, unused, big):
    """A layer over h (4,): for each extra input (size s, read at its turn) h += sum(x);
    `big` an intermediate of that size made and reduced in the middle; inputs in `unused`
    are declared and never read."""
    b = GraphBuilder("layer")
    h = b.input("h", (4,), FP16)
    for k, size in enumerate(extra):
        x = b.input(f"x{k}", (size,), FP16)
        if k == len(extra) // 2:
            y = b.node("Relu", [x], name=f"wide{k}")
            h = b.node("Add", [h, b.node("ReduceSum", [b.node("Tile", [y, b.ints(f"reps{k}", [big])])], keepdims=0)])
        else:
            h = b.node("Add", [h, b.node("ReduceSum", [x], name=f"sum{k}", keepdims=0)], name=f"add{k}")
    for k, size in enumerate(unused):
        b.input(f"u{k}", (size,), FP16)
    b.output(b.node("Relu", [h], name="out"))
    return b.build()


def _end(name):
    b = GraphBuilder(name)
    h = b.input("h", (4,), FP16)
    b.output(b.node("Relu", [h], name="act"))
    return b.build()


sizes = st.one_of(st.integers(1, 64), st.integers(1, 8).map(lambda k: k * symbol("n")))


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(
        st.tuples(st.lists(sizes, max_size=3), st.lists(sizes, max_size=2), st.integers(1, 16), st.integers(1, 5)),
        min_size=1,
        max_size=3,
    )
)
def test_peak_of_repeated_blocks_equals_the_unrolled_peak(blocks):
    segs = [Segment("embed", _end("embed"))]
    first = 0
    for k, (extra, unused, big, count) in enumerate(blocks):
        idx = tuple(range(first, first + count))
        first += count
        segs.append(Segment(f"blk{k}[{idx[0]}]x{count}", _layer(extra, unused, big), idx, f"blk{k}_"))
    segs.append(Segment("head", _end("head")))
    g, full = assemble(segs, "m"), unroll(segs, "m")
    got, want = analyze_graph(g), analyze_graph(full)  # sizes in n stay symbolic
    assert got.peak_activation_bytes == want.peak_activation_bytes
    assert got.total == want.total


# -- grouping: by arithmetic, as the layer-by-layer loop groups -------------------------
@settings(max_examples=80, deadline=None)
@given(
    layers=st.integers(1, 60),
    first_dense=st.integers(0, 5),
    freq=st.integers(1, 4),
    window=st.sampled_from([0, 8]),
    global_every=st.integers(0, 6),
    start=st.integers(0, 10),
)
def test_groups_by_arithmetic_equal_the_loop(layers, first_dense, freq, window, global_every, start):
    from dataclasses import replace

    from costmodel.frontends.spec.records import MoESpec

    base = {"name": "s", "architecture": "decoder", "vocab_size": 64, "hidden_size": 32, "num_heads": 2}
    spec = spec_from_dict(
        {**base, "intermediate_size": 64, "num_layers": layers, "sliding_window": window, "global_every": global_every}
    )
    spec = replace(spec, moe=MoESpec(4, 2, 16, first_dense_layers=first_dense, layer_freq=freq))
    stage = range(min(start, layers - 1), layers)
    assert group_layers(spec, stage) == group_layers(spec, tuple(stage))


def test_layer_set_is_a_sequence_of_its_indices():
    s = LayerSet([range(1, 20, 4), range(0, 1), range(2, 20, 4)])
    want = sorted([*range(1, 20, 4), 0, *range(2, 20, 4)])
    assert list(s) == want and len(s) == len(want) and s == tuple(want)
    assert (s[0], s[1], s[-1], s[3]) == (want[0], want[1], want[-1], want[3])
    assert 5 in s and 3 not in s


# -- a hostile depth --------------------------------------------------------------------
HUGE = 10**9


def test_a_billion_layers_lower_to_a_few_and_total_exactly():
    def deep(n):
        base = {"name": "deep", "architecture": "decoder", "vocab_size": 64, "hidden_size": 32, "num_heads": 2}
        with raised_spec_limits(max_layers=n):
            return spec_from_dict(
                {**base, "intermediate_size": 64, "num_layers": n, "sliding_window": 8, "global_every": 4}
            )

    b = {"batch": 1, "seq": 16}
    t0 = time.monotonic()
    g = spec_graph(deep(HUGE), b)
    _, huge = _totals(g, b)
    elapsed = time.monotonic() - t0
    assert len(g.nodes) == len(spec_graph(deep(8), b).nodes)
    # every total but the peak is affine in the layers of each kind: with 4 | n, a stack of
    # n layers is 8 layers plus (n - 8) / 4 periods of 3 sliding + 1 global layer
    _, t8 = _totals(spec_graph(deep(8), b, unrolled=True), b)
    _, t12 = _totals(spec_graph(deep(12), b, unrolled=True), b)
    periods = (HUGE - 8) // 4
    assert huge[:-1] == tuple(a + periods * (c - a) for a, c in zip(t8[:-1], t12[:-1]))
    assert huge[-1] == t8[-1] == t12[-1]  # no input per layer: the peak is one layer's
    assert elapsed < 20, f"{elapsed:.1f} s"  # bounded work, not a benchmark: the bar of issue 19
    r = costmodel.analyze(g, hardware="h100", bindings=b)
    assert math.isfinite(r.latency_s) and r.timing.kernels == sum(n.repeat for n in r.ops if n.status == "costed")


# -- runtimes rewrite across layers: they see every layer -------------------------------
def test_a_rewriting_runtime_analyses_the_unrolled_graph():
    spec = get_spec("llama-3.2-1b")
    b = {"batch": 1, "seq": 16}
    r = costmodel.analyze(spec, bindings=b, runtime="vllm")
    full = analyze_graph(spec_graph(spec, b, unrolled=True), bindings=b, runtime="vllm")
    assert (r.flops, r.bytes_read, len(r.ops)) == (full.total.flops, full.total.bytes_read, len(full.nodes))
    with pytest.raises(CostModelError, match="unrolled"):
        analyze_graph(spec_graph(spec, b), bindings=b, runtime="vllm")
    plain = costmodel.analyze(spec, bindings=b)
    assert plain.flops == r.flops and any(n.repeat == 16 for n in plain.ops)
    assert plain.to_dict()["ops"][1]["repeat"] == 16
