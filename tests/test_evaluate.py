"""Report.evaluate: symbolic once, evaluate many. Each grid point equals the exact result
of binding that point (timings live in benchmarks/, not here)."""

from __future__ import annotations

import numpy as np
import pytest

import costmodel
from costmodel.errors import BindingError
from tests.graphs import block_macs, transformer_block

FIELDS = ("flops", "macs", "transcendentals", "params", "bytes_read", "bytes_written")


@pytest.fixture(scope="module")
def report():
    return costmodel.analyze(transformer_block())


def test_grid_equals_exact_bindings(report):
    assert set(report.symbols) == {"batch", "seq"}
    b = np.array([1, 2, 7, 32])[:, None]
    s = np.array([1, 3, 128, 1000, 4096])[None, :]
    out = report.evaluate(batch=b, seq=s)
    for k in (*FIELDS, "bytes"):
        assert out[k].shape == (4, 5)
    for i, bb in enumerate(b[:, 0]):
        for j, ss in enumerate(s[0]):
            exact = report.bind(batch=int(bb), seq=int(ss))
            exact["transcendentals"] = report.graph_cost.total.bind({"batch": int(bb), "seq": int(ss)}).transcendentals
            for k in FIELDS:
                assert out[k][i, j] == exact[k], (k, bb, ss)
            assert out["bytes"][i, j] == exact["bytes_read"] + exact["bytes_written"]
            assert out["macs"][i, j] == block_macs(int(bb), int(ss))
    # and an analysis with the dims bound from the start agrees
    bound = costmodel.analyze(transformer_block(), bindings={"batch": 7, "seq": 128})
    assert out["flops"][2, 2] == bound.flops and out["bytes_read"][2, 2] == bound.bytes_read


def test_scalars_and_flat_arrays(report):
    one = report.evaluate(batch=3, seq=5)
    assert one["flops"].shape == () and one["flops"] == report.bind(batch=3, seq=5)["flops"]
    pts = report.evaluate(batch=np.array([1, 2, 3]), seq=np.array([8, 8, 9]))
    assert pts["macs"].tolist() == [block_macs(1, 8), block_macs(2, 8), block_macs(3, 9)]


def test_constant_fields_broadcast(report):
    out = report.evaluate(batch=np.arange(1, 4), seq=16)
    assert out["params"].shape == (3,) and len(set(out["params"].tolist())) == 1


def test_missing_and_unknown_symbols(report):
    with pytest.raises(BindingError):
        report.evaluate(batch=np.arange(1, 4))  # seq has no value
    with pytest.raises(BindingError, match="unknown symbol"):
        report.evaluate(batch=1, seq=1, heads=2)


def test_concrete_report_evaluates_to_constants(model_zoo):
    import os

    r = costmodel.analyze(os.path.join(model_zoo, "light_squeezenet.onnx"))
    assert r.symbols == ()
    out = r.evaluate()
    assert out["flops"] == r.flops and out["params"] == r.params
