"""Fitting the device model to measurements: global parameters shared by every device plus
per-device `refine` multipliers, by robust least squares on log(predicted / measured).

The model is hierarchical: the global parameters (devicemodel.PARAMS) describe a typical
device as a function of its datasheet features; each measured device may deviate from it
by a few multipliers (calibration.REFINE_KEYS: gemm, conv, attention, bandwidth, rows,
dispatch, overhead) with a log-normal prior (sigma 0.3) that keeps them near 1. A device
without measurements is predicted by the global parameters alone - which is exactly what
leave-one-device-out validation measures.

Every prediction goes through the product: Case.predict (a one-op graph, the calibrated
engine). Nothing here reads files; datasets.py does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..hardware.calibration_schema import REFINE_KEYS
from ..hardware.profile import HardwareProfile
from . import devicemodel as dm
from .calibration import Calibration, model_calibration, refine
from .lsq import find_depends, levenberg_marquardt
from .measured import Case

__all__ = ["FitOutput", "fit", "predict", "refine_device", "residual_logs"]

GLOBAL = tuple(dm.PARAMS)
REFINE_SIGMA = 0.3  # log-normal prior of a per-device multiplier: 1 / e^0.3 .. e^0.3 at one sigma
# Host-side multipliers (framework dispatch, per-kernel overhead) belong to the machine and
# software that timed the device more than to the device: hosts differ by up to 2x (the
# P100's NeuSight host dispatches 1.7x slower than the other NeuSight hosts, the H200's
# PyTorch 2.11 host about 2x faster), so they get a wider prior than hardware multipliers
HOST_SIGMA = 0.5
# whole-model steps (steps.py) are few but are what users predict: each counts 3x
# and so are the H200 torchvision classifiers (vision.py)
FAMILY_WEIGHT = {"model": 3.0, "vision": 3.0}
HOST_KEYS = ("dispatch", "dispatch_gemm", "dispatch_conv", "dispatch_norm", "overhead")
# A convolution's host time depends on the harness's cuDNN setting: with
# torch.backends.cudnn.benchmark (the H200 set) the algorithm is chosen once; without it
# (NeuSight) cuDNN's heuristics and multi-kernel algorithms run per call - 3-5x apart
WIDE_HOST = {"dispatch_conv": 1.0}
GLOBAL_SIGMA = 1.0  # weak prior on the global parameters (their priors are the old generic defaults)
# the global host parameters are the typical measured host: no prior pull (a pull toward the old
# defaults would act as one more, imaginary, host)
GLOBAL_HOST_SIGMA = 3.0
REFINE_BOUNDS = (0.2, 5.0)


@dataclass(frozen=True)
class FitOutput:
    params: dict[str, float]  # global parameters
    refines: dict[str, dict[str, float]]  # device -> refine multipliers
    cost: float
    iterations: int
    cases: int
    devices: tuple[str, ...]


def calibration_for(
    hw: HardwareProfile, params: Mapping[str, float], mult: Mapping[str, float] | None = None
) -> Calibration:
    cal = model_calibration(hw, params)
    if mult:
        cal = replace(refine(cal, {k: v for k, v in mult.items() if abs(v - 1.0) > 1e-12}), measured=True)
    return cal


def predict(
    cases: Sequence[Case],
    profiles: Mapping[str, HardwareProfile],
    params: Mapping[str, float],
    refines: Mapping[str, Mapping[str, float]] | None = None,
) -> np.ndarray:
    """Predicted seconds for each case (refine multipliers applied where given)."""
    refines = refines or {}
    cals: dict[str, Calibration] = {}
    out = np.empty(len(cases))
    for i, c in enumerate(cases):
        d = c.m.profile
        cal = cals.get(d)
        if cal is None:
            cal = cals[d] = calibration_for(profiles[d], params, refines.get(d))
        out[i] = c.predict(profiles[d], cal)
    return out


def residual_logs(cases: Sequence[Case], predicted: np.ndarray) -> np.ndarray:
    meas = np.array([c.measured_s for c in cases])
    res: np.ndarray = np.log(np.maximum(predicted, 1e-12) / meas)
    return res


def case_weights(cases: Sequence[Case]) -> np.ndarray:
    """Each (device, op family) group weighs about the square root of its size, so the
    5 x 60k NeuSight rows do not drown the 300 H200 cases and 3 H200 adds do not count
    as much as 140 H200 GEMMs; the weights sum to the number of cases."""
    groups: dict[tuple[str, str], int] = {}
    for c in cases:
        k = (c.m.profile, c.m.family)
        groups[k] = groups.get(k, 0) + 1
    w = np.array([FAMILY_WEIGHT.get(c.m.family, 1.0) / math.sqrt(groups[(c.m.profile, c.m.family)]) for c in cases])
    spread = np.array([float(c.m.condition("run_spread") or 0.0) for c in cases])
    w /= 1.0 + 4.0 * spread  # noisy measurements (large run-to-run spread) count less
    weights: np.ndarray = w * (len(cases) / w.sum())
    return weights


class _Layout:
    def __init__(
        self,
        devices: Sequence[str],
        refine_keys: Sequence[str],
        fixed: Mapping[str, float] | None,
        held: Mapping[str, Mapping[str, float]] | None = None,
    ):
        self.fixed = dict(fixed or {})
        self.held = {d: dict(m) for d, m in (held or {}).items()}
        self.globals = [n for n in GLOBAL if n not in self.fixed]
        self.devices = list(devices)
        self.keys = list(refine_keys)
        self.n = len(self.globals) + len(self.devices) * len(self.keys)

    def unpack(self, x: np.ndarray) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        params = dict(self.fixed)
        for i, n in enumerate(self.globals):
            params[n] = math.exp(x[i])
        refines: dict[str, dict[str, float]] = {d: dict(m) for d, m in self.held.items()}
        j = len(self.globals)
        for d in self.devices:
            refines[d] = {**refines.get(d, {}), **{k: math.exp(x[j + i]) for i, k in enumerate(self.keys)}}
            j += len(self.keys)
        return params, refines

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        lo, hi, prior, sigma = [], [], [], []
        for n in self.globals:
            p = dm.PARAMS[n]
            lo.append(math.log(p.lo))
            hi.append(math.log(p.hi))
            prior.append(math.log(p.prior))
            host = n.startswith("dispatch_") or n in ("eager_gap_s", "kernel_overhead_s")
            sigma.append(GLOBAL_HOST_SIGMA if host else GLOBAL_SIGMA)
        for _ in self.devices:
            for k in self.keys:
                lo.append(math.log(REFINE_BOUNDS[0]))
                hi.append(math.log(REFINE_BOUNDS[1]))
                prior.append(0.0)
                sigma.append(WIDE_HOST.get(k, HOST_SIGMA) if k in HOST_KEYS else REFINE_SIGMA)
        return np.array(lo), np.array(hi), np.array(prior), np.array(sigma)


def fit(
    cases: Sequence[Case],
    profiles: Mapping[str, HardwareProfile],
    *,
    start: Mapping[str, float] | None = None,
    refine_devices: Iterable[str] | None = None,
    fixed: Mapping[str, float] | None = None,
    refine_keys: Sequence[str] = REFINE_KEYS,
    fixed_refines: Mapping[str, Mapping[str, float]] | None = None,
    max_iter: int = 25,
    log: Callable[[str], None] | None = None,
) -> FitOutput:
    """Fit the global parameters (except `fixed`) and the per-device multipliers
    `refine_keys` for `refine_devices` (default: every device in `cases`) on `cases`
    (callers pass only the training split). `start` seeds the global parameters (default:
    the priors). `fixed_refines` holds a device's other multipliers where they are (a
    staged fit: a later stage frees a few parameters on top of an earlier stage's result);
    the output's refines are those merged with the fitted ones."""
    devs = sorted({c.m.profile for c in cases})
    rdevs = sorted(set(devs) if refine_devices is None else set(refine_devices) & set(devs))
    held = {d: {k: float(v) for k, v in m.items() if k not in refine_keys} for d, m in (fixed_refines or {}).items()}
    lay = _Layout(rdevs, refine_keys, fixed, held)
    lo, hi, prior, sigma = lay.bounds()
    x0 = prior.copy()
    for i, n in enumerate(lay.globals):
        if start and n in start:
            x0[i] = math.log(min(max(start[n], dm.PARAMS[n].lo), dm.PARAMS[n].hi))
    meas = np.log(np.array([c.measured_s for c in cases]))
    weights = case_weights(cases)

    def residuals(x: np.ndarray, subset: np.ndarray | None) -> np.ndarray:
        params, refines = lay.unpack(x)
        idx = np.arange(len(cases)) if subset is None else subset
        pred = predict([cases[int(i)] for i in idx], profiles, params, refines)
        res: np.ndarray = np.log(np.maximum(pred, 1e-12)) - meas[idx]
        return res

    depends = find_depends(residuals, x0, len(cases))
    res = levenberg_marquardt(residuals, x0, lo, hi, weights, prior, sigma, max_iter=max_iter, depends=depends, log=log)
    params, refines = lay.unpack(res.x)
    # multipliers no case of the device constrains stay exactly 1 (not a rounding of it)
    used = {d: {k for k in lay.keys if len(depends[_index(lay, d, k)])} for d in rdevs}
    refines = {
        d: {k: round(v, 6) for k, v in m.items() if k in lay.held.get(d, {}) or k in used.get(d, ())}
        for d, m in refines.items()
    }
    return FitOutput(
        {k: float(v) for k, v in params.items()}, refines, res.cost, res.iterations, len(cases), tuple(devs)
    )


def _index(lay: _Layout, device: str, key: str) -> int:
    return len(lay.globals) + lay.devices.index(device) * len(lay.keys) + lay.keys.index(key)


def refine_device(
    cases: Sequence[Case],
    hw: HardwareProfile,
    params: Mapping[str, float],
    max_iter: int = 20,
    log: Callable[[str], Any] | None = None,
) -> dict[str, float]:
    """Per-device multipliers for one device's measurements with the global parameters
    held fixed (`costmodel calibrate --from`)."""
    out = fit(cases, {hw.name: hw}, refine_devices=[hw.name], fixed=dict(params), max_iter=max_iter, log=log)
    return out.refines.get(hw.name, {})
