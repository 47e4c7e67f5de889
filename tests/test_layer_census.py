"""ModelSpec.representative_layer: the planners ask the spec once per distinct layer and
count the rest, so a representative must agree with its layer on every per-layer property
and the per-layer sums (KV bytes, recurrent state, MoE layers) must equal the layer-by-layer
count for any MoE frequency, dense prefix and sliding-window pattern."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from costmodel.frontends.spec import LayerKind, spec_from_dict
from costmodel.frontends.spec.records import MoESpec
from costmodel.ir.dtypes import dtype
from costmodel.planners.serving_memory import kv_bytes, kv_bytes_per_token

BASE = {
    "name": "s",
    "architecture": "decoder",
    "vocab_size": 64,
    "hidden_size": 32,
    "num_heads": 2,
    "intermediate_size": 64,
}


@given(
    layers=st.integers(1, 40),
    first_dense=st.integers(0, 5),
    freq=st.integers(1, 4),
    window=st.sampled_from([0, 4, 8]),
    global_every=st.integers(0, 6),
)
def test_representative_agrees_with_its_layer(layers, first_dense, freq, window, global_every):
    spec = spec_from_dict({**BASE, "num_layers": layers, "sliding_window": window, "global_every": global_every})
    spec = replace(spec, moe=MoESpec(4, 2, 16, first_dense_layers=first_dense, layer_freq=freq))
    for i in range(layers):
        r = spec.representative_layer(i)
        assert r <= i
        assert r < max(1, first_dense) + math.lcm(freq, max(global_every, 1))
        assert (spec.layer_kind(r), spec.is_moe_layer(r), spec.is_sliding(r)) == (
            spec.layer_kind(i),
            spec.is_moe_layer(i),
            spec.is_sliding(i),
        )
        assert (r == 0) == (i == 0)
    assert spec.moe_layers() == sum(spec.is_moe_layer(i) for i in range(layers))

    kv = dtype("fp16")
    per = 2 * spec.kv_heads * spec.hd * 2  # K and V, fp16
    sliding = sum(spec.is_sliding(i) for i in range(layers))
    for context in (1, 5, 64):
        kept = min(context, window) if window else context
        assert kv_bytes(spec, kv, context) == per * (context * (layers - sliding) + kept * sliding)
    assert kv_bytes_per_token(spec, kv) == per * layers
    assert all(spec.layer_kind(i) is LayerKind.ATTENTION for i in range(layers))


# -- per-layer work: proportional to distinct layers, not to num_layers (issue 19) ----------
def _count_layer_queries(monkeypatch, fn) -> int:
    from costmodel.frontends.spec import ModelSpec

    calls = {"n": 0}
    for name in ("layer_kind", "is_moe_layer", "is_sliding"):
        orig = getattr(ModelSpec, name)

        def counted(self, i, _orig=orig):
            calls["n"] += 1
            return _orig(self, i)

        monkeypatch.setattr(ModelSpec, name, counted)
    fn()
    return calls["n"]


def _deep(layers: int):
    from costmodel.frontends.spec import spec_from_dict
    from costmodel.limits import raised_spec_limits

    with raised_spec_limits(max_layers=layers):
        return spec_from_dict({**BASE_SPEC_FOR_LAYERS, "num_layers": layers})


BASE_SPEC_FOR_LAYERS = {**BASE, "sliding_window": 8, "global_every": 4}


def test_llm_planning_work_does_not_grow_with_num_layers(monkeypatch):
    from costmodel.planners.llm import plan_llm

    small, deep = _deep(64), _deep(4096)
    n_small = _count_layer_queries(monkeypatch, lambda: plan_llm(small, "h100", prompt_len=16, output_len=4))
    n_deep = _count_layer_queries(monkeypatch, lambda: plan_llm(deep, "h100", prompt_len=16, output_len=4))
    assert n_deep <= n_small


def test_spec_analysis_work_does_not_grow_with_num_layers():
    from costmodel.frontends import spec_graph

    assert len(spec_graph(_deep(256), {"batch": 1, "seq": 8}).nodes) == len(
        spec_graph(_deep(8), {"batch": 1, "seq": 8}).nodes
    )
