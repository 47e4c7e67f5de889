"""The fit: the least-squares solver, per-device refinement, and the honesty of
leave-one-device-out (a device's own data never enters the parameters it is scored with)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from costmodel.engine import datasets, fitting, validation
from costmodel.engine import devicemodel as dm
from costmodel.engine.lsq import find_depends, levenberg_marquardt
from costmodel.hardware import get_profile


def test_levenberg_marquardt_recovers_a_power_law():
    # y = 3 x^0.5 exactly; fit log a, log b from a start far away
    xs = np.linspace(1.0, 50.0, 40)
    ys = 3.0 * xs**0.5

    def res(p, subset):
        i = np.arange(len(xs)) if subset is None else subset
        return np.log(math.exp(p[0]) * xs[i] ** math.exp(p[1])) - np.log(ys[i])

    x0 = np.log([1.0, 1.0])
    out = levenberg_marquardt(
        res, x0, np.log([0.01, 0.01]), np.log([100.0, 5.0]), np.ones(40), x0, np.array([100.0, 100.0]), max_iter=50
    )
    assert math.exp(out.x[0]) == pytest.approx(3.0, rel=1e-3)
    assert math.exp(out.x[1]) == pytest.approx(0.5, rel=1e-3)
    deps = find_depends(res, out.x, 40)
    # a moves every residual; b all but the one at x = 1 (1 ** b = 1): the sparsity is exact
    assert len(deps[0]) == 40 and list(deps[1]) == list(range(1, 40))


@pytest.fixture(scope="module")
def t4_cases():
    ms = datasets.load_measurements(["neusight"], per_group=4, rows_per_file=60)
    return [c for _, m, _h in ms if m.profile in ("t4", "p4") for c in [datasets.build_case(m)] if c is not None]


def test_refine_follows_the_data(t4_cases):
    t4 = get_profile("t4")
    mine = [c for c in t4_cases if c.m.profile == "t4"]
    params = dm.load_model().params
    # the same shapes measured 40% slower: the device's multipliers must slow it down
    slow = [dataclasses.replace(c, m=dataclasses.replace(c.m, time_s=c.m.time_s * 1.4)) for c in mine]
    base = fitting.predict(mine, {"t4": t4}, params)
    mult = fitting.refine_device(slow, t4, params, max_iter=8)
    after = fitting.predict(mine, {"t4": t4}, params, {"t4": mult})
    assert np.median(after / base) > 1.2


def test_lodo_refit_never_sees_the_left_out_device(t4_cases, monkeypatch):
    from cli.validate import _refit

    seen = []

    def fake_fit(cases, profiles, **kw):
        seen.append({c.m.profile for c in cases})
        return fitting.FitOutput(dict(dm.load_model().params), {}, 0.0, 0, len(cases), ())

    monkeypatch.setattr(fitting, "fit", fake_fit)
    out = _refit([("neusight", c) for c in t4_cases])
    assert set(out) == {"t4", "p4"}
    assert seen == [{"t4"}, {"p4"}]  # p4 fitted on t4 only, then t4 on p4 only (sorted order)


def test_evaluate_scores_each_device_with_its_lodo_parameters(t4_cases):
    model = dm.load_model()
    cases = [("neusight", c) for c in t4_cases]
    normal = {"t4": dict(model.params), "p4": dict(model.params)}
    slow = {"t4": dict(model.params, gemm_simt=0.3), "p4": dict(model.params)}  # poorer for the T4 only
    a = validation.evaluate(cases, model=model, lodo=normal)
    b = validation.evaluate(cases, model=model, lodo=slow)
    t4 = [(x, y) for x, y in zip(a, b) if x.device == "t4" and x.family == "gemm"]
    p4 = [(x, y) for x, y in zip(a, b) if x.device == "p4"]
    assert t4 and all(y.lodo_s >= x.lodo_s for x, y in t4) and any(y.lodo_s > 1.01 * x.lodo_s for x, y in t4)
    assert p4 and all(y.lodo_s == x.lodo_s for x, y in p4)
    assert all(x.fitted_s == y.fitted_s for x, y in zip(a, b))  # the shipped predictions are untouched


def test_a_staged_fit_holds_the_given_refinements(t4_cases):
    """fitting.fit with `refine_keys` frees only those multipliers; `fixed_refines` keeps
    the device's others exactly (the second stage of benchmarks/fit_device_model.py)."""
    t4 = get_profile("t4")
    mine = [c for c in t4_cases if c.m.profile == "t4"]
    params = dict(dm.load_model().params)
    slow = [dataclasses.replace(c, m=dataclasses.replace(c.m, time_s=c.m.time_s * 1.4)) for c in mine]
    held = {"t4": {"bandwidth": 0.8, "dispatch": 1.25}}
    out = fitting.fit(slow, {"t4": t4}, fixed=params, refine_keys=("gemm",), fixed_refines=held, max_iter=6).refines[
        "t4"
    ]
    assert out["bandwidth"] == 0.8 and out["dispatch"] == 1.25
    assert set(out) == {"gemm", "bandwidth", "dispatch"} and out["gemm"] < 1.0  # slower GEMMs: a lower fraction
