"""80% prediction intervals for kernel and graph latencies, from validation residuals.

The fit script (benchmarks/fit_device_model.py) stores, per op family, the 10th, 50th and
90th percentiles of log(measured / predicted) in hardware_profiles/device-model.json:

- "measured": held-out shapes on devices whose profile carries measured refinements;
- "unmeasured": leave-one-device-out predictions (the device's own data never seen),
  which is what every other profile gets.

Both tables are quantiles of residuals the band is not judged on: "measured" of the cases
the fit saw (so ~80% of the fitted cases fall inside by construction; the held-out shapes
are the check), "unmeasured" of every device's leave-one-device-out predictions (the check
is `costmodel validate`'s coverage with the quantiles rebuilt without the device).

A node's band is its prediction times exp(q10) .. exp(q90) of its family and class: a
two-piece log-normal, spread (q50 - q10) / Z80 below the median and (q90 - q50) / Z80 above
it. It is widened by `incomplete_widen` when the profile lacks a datasheet feature the
model needed that no validation device lacked ("covered_missing" lists those the residuals
already include: their error is in the quantiles, widening again would count it twice),
and kernels no family covers get the widest family's band x `unknown_widen`.

A graph's band combines its nodes' bands in log space as correlated errors, not
independent ones: on one device the same calibration errs the same way on every kernel of
a family, so sqrt(n) shrinking would be a lie. With per-node log-normal spreads s_i and
time weights w_i, the graph spread is sqrt((1 - rho) * sum (w_i s_i)^2 + rho * (sum w_i s_i)^2),
below and above the median each from its own side's spreads, with rho fitted on the fitted
H200 whole-model steps (the only measured whole graphs) and stored as "graph_correlation".

Profiles timed by the CPU engine (kinds cpu/soc, cpu.py) get no band: every residual here
is a GPU kernel's, and the CPU engine has no validation set to draw one from.
"""

from __future__ import annotations

import math
from itertools import repeat
from collections.abc import Mapping, Sequence
from typing import Any

from ..ops.registry import OpKind

__all__ = ["FAMILIES", "family_of", "graph_band", "graph_spread", "node_band"]

Z80 = 1.2815515655446004  # standard normal quantile at 0.9: a 10..90% interval is +-Z80 sigma
FAMILIES = ("gemm", "conv", "attention", "norm", "softmax", "elementwise", "reduction", "transpose")

# Used only when no fitted table is shipped (before the first fit): generous, symmetric.
_FALLBACK = {"q10": -0.5, "q50": 0.0, "q90": 0.5}


_KIND_FAMILY: dict[str, str] = {
    OpKind.CONTRACTION: "gemm",
    OpKind.CONV: "conv",
    OpKind.ATTENTION: "attention",
    OpKind.ELEMENTWISE: "elementwise",
    OpKind.REDUCTION: "reduction",
}


def family_of(kind: str, op_type: str) -> str:
    """The validation family of an engine node (op kind and type)."""
    fam = _KIND_FAMILY.get(kind)
    if fam is not None:
        return fam
    if kind == OpKind.NORMALIZATION:
        return "softmax" if op_type in ("Softmax", "LogSoftmax") else "norm"
    if op_type == "Transpose":
        return "transpose"
    return "unknown"


def _table(residuals: Mapping[str, Any], cls: str, family: str) -> tuple[float, float, float, float]:
    """(q10, q50, q90, widen) for a family in a class; unknown families take the widest."""
    tab = residuals.get(cls) or {}
    widen = 1.0
    q = tab.get(family)
    if q is None:
        known = [v for v in tab.values() if isinstance(v, Mapping)]
        if not known:
            q = _FALLBACK
        else:
            q = max(known, key=lambda v: float(v["q90"]) - float(v["q10"]))
            widen = float(residuals.get("unknown_widen", 1.5))
    return float(q["q10"]), float(q["q50"]), float(q["q90"]), widen


def _class(cal: Any) -> str:
    return "measured" if getattr(cal, "measured", False) else "unmeasured"


def _params(residuals: Mapping[str, Any], cal: Any, family: str) -> tuple[float, float, float]:
    """(mu, sigma below, sigma above) of log(measured / predicted) for one kernel."""
    q10, q50, q90, widen = _table(residuals, _class(cal), family)
    covered = set(residuals.get("covered_missing", ()))
    if set(getattr(cal, "features_missing", ())) - covered:
        widen *= float(residuals.get("incomplete_widen", 1.5))
    lo = max((q50 - q10) / Z80, 1e-3) * widen
    hi = max((q90 - q50) / Z80, 1e-3) * widen
    return q50, lo, hi


def node_band(time_s: float, family: str, cal: Any, residuals: Mapping[str, Any]) -> tuple[float, float]:
    """(p10, p90) seconds for one kernel predicted at time_s."""
    if time_s <= 0:
        return (0.0, 0.0)
    mu, s_lo, s_hi = _params(residuals, cal, family)
    return (time_s * math.exp(mu - Z80 * s_lo), time_s * math.exp(mu + Z80 * s_hi))


def graph_spread(
    times: Sequence[float],
    families: Sequence[str],
    cal: Any,
    residuals: Mapping[str, Any],
    counts: Sequence[int] | None = None,
) -> tuple[float, float, float]:
    """(mu, sigma below, sigma above) of log(measured / predicted) for a sequence of
    kernels (see the module docstring); with `counts`, entry i is counts[i] kernels of time
    times[i] / counts[i] each (a node of a repeated block), weighed as that many kernels."""
    total = float(sum(times))
    rho = float(residuals.get("graph_correlation", 0.5))
    mu = 0.0
    lin = [0.0, 0.0]
    sq = [0.0, 0.0]
    cache: dict[str, tuple[float, float, float]] = {}
    for t, fam, c in zip(times, families, counts or repeat(1)):
        if t <= 0:
            continue
        if fam not in cache:
            cache[fam] = _params(residuals, cal, fam)
        m, *spreads = cache[fam]
        w = t / total
        mu += w * m
        for i, s in enumerate(spreads):
            lin[i] += w * s
            sq[i] += (w * s) ** 2 / c
    s_lo, s_hi = (math.sqrt(max((1 - rho) * q + rho * v * v, 0.0)) for q, v in zip(sq, lin))
    return mu, s_lo, s_hi


def graph_band(
    times: Sequence[float],
    families: Sequence[str],
    cal: Any,
    residuals: Mapping[str, Any],
    counts: Sequence[int] | None = None,
) -> tuple[float, float]:
    """(p10, p90) seconds for a sequence of kernels (graph_spread)."""
    total = float(sum(times))
    if total <= 0:
        return (0.0, 0.0)
    mu, s_lo, s_hi = graph_spread(times, families, cal, residuals, counts)
    return (total * math.exp(mu - Z80 * s_lo), total * math.exp(mu + Z80 * s_hi))


def attach(timings: Sequence[Any], nodes: Sequence[Any], cal: Any, mode: str) -> tuple[list[Any], Any]:
    """NodeTimings with their bands, and the graph band (None in ideal mode: the datasheet
    roofline is a bound, not a prediction with an error)."""
    from dataclasses import replace

    if mode == "ideal":
        return list(timings), None
    from .devicemodel import load_model

    residuals = load_model().residuals
    fams = [family_of(getattr(n, "kind", ""), getattr(n, "op_type", "")) for n in nodes]
    out = [
        replace(t, band=node_band(t.time_s, f, cal, residuals)) if t.time_s > 0 else t for t, f in zip(timings, fams)
    ]
    counts = [getattr(n, "repeat", 1) for n in nodes]
    return out, graph_band([t.time_s for t in timings], fams, cal, residuals, counts)
