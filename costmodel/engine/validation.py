"""`costmodel validate`: reproduce every measured set the repository ships and score the
device model the way its users meet it.

For every measured case three predictions are made through the product's own engine:

- fitted: the device model with the device's measured refinement (the profile's
  [calibration] table) - what `costmodel analyze --hardware <device>` predicts today.
  Scored separately on the cases the fit saw and on the held-out ones (datasets.py).
- leave-one-device-out (LODO): the global parameters refitted without any data of the
  device (shipped in device-model.json under "lodo", produced by
  benchmarks/fit_device_model.py, or refitted live with --refit), no refinement: what a
  device nobody measured gets.
- roofline: the datasheet roofline (ideal mode), the baseline to beat.

Errors are |predicted / measured - 1|; a set's figure is the median. Band coverage is the
share of measurements inside the 80% band; besides the shipped bands (whose quantiles were
computed from these same residuals), a device's coverage is also reported with bands
recomputed from the other devices' residuals only ("coverage_lodo_bands"), the honest
figure for a device the bands never saw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..hardware import get_profile
from ..hardware.profile import HardwareProfile
from .calibration import for_profile
from .devicemodel import ModelData, load_model
from .fitting import calibration_for
from .measured import Case
from .uncertainty import Z80

__all__ = ["Row", "evaluate", "llm_step_rows", "summary"]


@dataclass(frozen=True)
class Row:
    set: str
    device: str
    family: str
    op: str
    label: str
    holdout: bool
    measured_s: float
    fitted_s: float
    fitted_band: tuple[float, float] | None
    lodo_s: float | None
    lodo_band: tuple[float, float] | None
    roofline_s: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fitted_band"] = list(self.fitted_band) if self.fitted_band else None
        d["lodo_band"] = list(self.lodo_band) if self.lodo_band else None
        return d


def _label(c: Case) -> str:
    return f"{c.m.op} {c.m.dtype} {c.m.shape_text()}"


def evaluate(
    cases: Sequence[tuple[str, Case]],
    model: ModelData | None = None,
    lodo: Mapping[str, Mapping[str, float]] | None = None,
    profiles: Mapping[str, HardwareProfile] | None = None,
) -> list[Row]:
    """Predict every case three ways (see the module docstring). `lodo` overrides the
    shipped leave-one-device-out parameters (e.g. refitted live)."""
    model = model or load_model()
    lodo = model.lodo if lodo is None else lodo
    profiles = dict(profiles or {})
    rows = []
    cals: dict[str, Any] = {}
    lodo_cals: dict[str, Any] = {}
    for set_name, c in cases:
        dev = c.m.profile
        hw = profiles.get(dev) or profiles.setdefault(dev, get_profile(dev))
        if dev not in cals:
            cals[dev] = for_profile(hw)
            lodo_cals[dev] = calibration_for(hw, lodo[dev]) if dev in lodo else None
        t = c.timing(hw, cals[dev])
        lt = c.timing(hw, lodo_cals[dev]) if lodo_cals[dev] is not None else None
        rows.append(
            Row(
                set_name,
                dev,
                c.m.family,
                c.m.op,
                _label(c),
                c.holdout,
                c.measured_s,
                t.latency_s,
                t.band,
                lt.latency_s if lt else None,
                lt.band if lt else None,
                c.predict(hw, cals[dev], mode="ideal"),
            )
        )
    return rows


def llm_step_rows(root: Any = None, model: ModelData | None = None) -> list[Row]:
    """The H200 whole-model steps (steps.py) as Rows of set 'h200-steps': the even ones
    were fitted, the odd ones held out."""
    from .steps import load_steps
    from .uncertainty import graph_band

    model = model or load_model()
    hw = get_profile("h200")
    cal = for_profile(hw)
    lodo_cal = calibration_for(hw, model.lodo[hw.name]) if hw.name in model.lodo else None
    rows = []
    for st in load_steps(root):
        times, fams = st.components(hw, cal)
        lodo_s = band = None
        if lodo_cal is not None:
            lt, lf = st.components(hw, lodo_cal)
            lodo_s, band = float(sum(lt)), graph_band(lt, lf, lodo_cal, model.residuals)
        rows.append(
            Row(
                "h200-steps",
                hw.name,
                "model",
                st.m.op,
                st.m.label,
                st.holdout,
                st.measured_s,
                float(sum(times)),
                graph_band(times, fams, cal, model.residuals),
                lodo_s,
                band,
                st.predict(hw, cal, mode="ideal"),
            )
        )
    return rows


def _family(n: Any) -> str:
    from .uncertainty import family_of

    return family_of(n.kind, n.op_type)


def _stats(pairs: Iterable[tuple[float, float]]) -> dict[str, Any]:
    e = sorted(abs(p / m - 1) for p, m in pairs if p is not None)
    if not e:
        return {"n": 0}
    return {
        "n": len(e),
        "median": e[len(e) // 2] if len(e) % 2 else 0.5 * (e[len(e) // 2 - 1] + e[len(e) // 2]),
        "mean": sum(e) / len(e),
        "p90": e[min(len(e) - 1, int(math.ceil(0.9 * len(e))) - 1)],
    }


def _coverage(rows: Sequence[Row], which: str) -> float | None:
    inside = n = 0
    for r in rows:
        band = r.fitted_band if which == "fitted" else r.lodo_band
        if band is None:
            continue
        n += 1
        inside += band[0] <= r.measured_s <= band[1]
    return inside / n if n else None


def _group(rows: Sequence[Row], key: Callable[[Row], Any]) -> dict[Any, list[Row]]:
    out: dict[Any, list[Row]] = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return out


def _block(rows: Sequence[Row]) -> dict[str, Any]:
    train = [r for r in rows if not r.holdout]
    test = [r for r in rows if r.holdout]
    return {
        "fitted": _stats((r.fitted_s, r.measured_s) for r in train),
        "heldout": _stats((r.fitted_s, r.measured_s) for r in test),
        "lodo": _stats((r.lodo_s, r.measured_s) for r in rows if r.lodo_s is not None),
        "roofline": _stats((r.roofline_s, r.measured_s) for r in rows),
        "coverage_heldout": _coverage(test, "fitted"),
        "coverage_lodo": _coverage(rows, "lodo"),
    }


def _lodo_band_coverage(rows: Sequence[Row]) -> dict[str, float | None]:
    """Per device: coverage of its LODO predictions with band quantiles recomputed from the
    other devices' LODO residuals only (per family)."""
    out: dict[str, float | None] = {}
    by_dev = _group([r for r in rows if r.lodo_s], lambda r: r.device)
    for dev, mine in by_dev.items():
        others = [r for r in rows if r.lodo_s and r.device != dev]
        q: dict[str, tuple[float, float]] = {}
        for fam, rs in _group(others, lambda r: r.family).items():
            logs = np.log([r.measured_s / r.lodo_s for r in rs if r.lodo_s])
            q[fam] = (float(np.quantile(logs, 0.1)), float(np.quantile(logs, 0.9)))
        inside = n = 0
        for r in mine:
            if r.family not in q or not r.lodo_s:
                continue
            lo, hi = q[r.family]
            n += 1
            inside += r.lodo_s * math.exp(lo) <= r.measured_s <= r.lodo_s * math.exp(hi)
        out[dev] = inside / n if n else None
    return out


def summary(rows: Sequence[Row]) -> dict[str, Any]:
    """Medians and coverage per set, per (set, device), per (set, family) and per (set, op)."""
    return {
        "sets": {s: _block(rs) for s, rs in sorted(_group(rows, lambda r: r.set).items())},
        "devices": {f"{s}/{d}": _block(rs) for (s, d), rs in sorted(_group(rows, lambda r: (r.set, r.device)).items())},
        "families": {
            f"{s}/{f}": _block(rs) for (s, f), rs in sorted(_group(rows, lambda r: (r.set, r.family)).items())
        },
        "ops": {f"{s}/{o}": _block(rs) for (s, o), rs in sorted(_group(rows, lambda r: (r.set, r.op)).items())},
        "coverage_lodo_bands": _lodo_band_coverage(rows),
        "z80": Z80,
    }
