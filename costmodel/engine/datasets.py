"""The measured sets the repository ships (benchmarks/data), how they are sampled and which
cases are held out of the fit.

- h200: one H200 SXM, PyTorch 2.11 eager ops (benchmarks/data/h200-2026-11-28.json). Every
  4th op case in file order is held out (the rule the first H200 fit used); the ceiling
  cases (8192^3 GEMMs, a 1 GiB copy) always fit. Its whole-model LLM steps are validated
  separately (validation.py).
- neusight: fp32 ops on P4, P100, T4, V100 PCIe, A100 PCIe 40GB (+ convs on an A100 PCIe
  80GB), PyTorch 2.1 eager (benchmarks/data/public/neusight). A quarter of the shapes,
  chosen by a hash of what was measured, is held out.
- vidur-a40: fp16 LLM-layer kernels on an A40 (benchmarks/data/public/vidur-a40). Whole
  models are held out (Phi-2 and CodeLlama-34B): their hidden sizes, FFN widths and
  TP shards never appear in the fit.

The public sets are large (300k rows); `per_group` keeps a deterministic sample per (set,
device, op, dtype) group: the rows with the smallest hash of their shape, so a smaller
sample is a subset of a larger one and runs are reproducible. The H200 set (290 ops) is
always used whole.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import MeasurementError
from ..hardware.measurements import Measurement, read_measurements
from .measured import Case, build_case

__all__ = ["SETS", "SetSpec", "data_dir", "load_cases", "load_measurements"]


@dataclass(frozen=True)
class SetSpec:
    name: str
    pattern: str  # glob under the data folder
    description: str
    holdout: str  # "every4" | "hash" | "models:<a>,<b>"
    sampled: bool = True  # False: every row, whatever per_group says (small sets)


SETS: dict[str, SetSpec] = {
    "h200": SetSpec(
        "h200",
        "h200-2026-11-28.json",
        "one H200 SXM 141GB, PyTorch 2.11 eager ops, CUDA events (measured 2026-11-28)",
        "every4",
        sampled=False,
    ),
    "neusight": SetSpec(
        "neusight",
        "public/neusight/*.csv.gz",
        "NeuSight (ASPLOS 2025) fp32 ops on P4, P100, T4, V100 PCIe, A100 PCIe 40GB/80GB, PyTorch 2.1 eager",
        "hash",
    ),
    "vidur-a40": SetSpec(
        "vidur-a40",
        "public/vidur-a40/*.csv.gz",
        "Vidur (MLSys 2024) fp16 LLM-layer kernels on an A40, profiler kernel times",
        "models:microsoft_phi-2,codellama_CodeLlama-34b-Instruct-hf",
    ),
}


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the measured sets: `path`, else $COSTMODEL_DATA, else the source
    checkout's benchmarks/data (the sets are not installed with the package)."""
    if path is not None:
        d = Path(os.fspath(path)).expanduser()
    elif os.environ.get("COSTMODEL_DATA"):
        d = Path(os.environ["COSTMODEL_DATA"]).expanduser()
    else:
        d = Path(__file__).resolve().parent.parent.parent / "benchmarks" / "data"
    if not d.is_dir():
        raise MeasurementError(
            "no measured sets here; run from a source checkout (benchmarks/data) or pass --data DIR",
            where=str(d),
        )
    return d


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big")


def _holdout(spec: SetSpec, rows: list[Measurement]) -> list[bool]:
    if spec.holdout == "every4":
        out, i = [], 0
        for m in rows:
            if m.condition("section") == "ops":
                out.append(i % 4 == 3)
                i += 1
            else:
                out.append(False)
        return out
    if spec.holdout.startswith("models:"):
        held = set(spec.holdout.split(":", 1)[1].split(","))
        return [m.condition("model") in held for m in rows]
    return [_hash(m.key) % 4 == 3 for m in rows]


def load_measurements(
    names: Iterable[str] = tuple(SETS),
    root: str | os.PathLike[str] | None = None,
    per_group: int | None = None,
    rows_per_file: int | None = None,
) -> list[tuple[str, Measurement, bool]]:
    """(set name, measurement, held out) for every row of the named sets, or a
    deterministic sample of at most `per_group` rows per (set, device, op, dtype), drawn
    from the first `rows_per_file` rows of each file when given (a quick sample)."""
    base = data_dir(root)
    out: list[tuple[str, Measurement, bool]] = []
    for name in names:
        spec = SETS[name]
        files = sorted(base.glob(spec.pattern))
        if not files:
            raise MeasurementError(f"set {name}: no files match {spec.pattern}", where=str(base))
        rows: list[Measurement] = []
        for f in files:
            rows.extend(read_measurements(f, limit=rows_per_file))
        flags = _holdout(spec, rows)
        if per_group is None or not spec.sampled:
            out.extend((name, m, h) for m, h in zip(rows, flags))
            continue
        groups: dict[tuple[str, str, str], list[tuple[int, Measurement, bool]]] = {}
        for m, h in zip(rows, flags):
            groups.setdefault((m.profile, m.op, m.dtype), []).append((_hash(m.key), m, h))
        for key in sorted(groups):
            g = sorted(groups[key], key=lambda t: t[0])
            # keep the hold-out share of the sample as in the full set
            train = [t for t in g if not t[2]][:per_group]
            test = [t for t in g if t[2]][: max(1, per_group // 3)]
            out.extend((name, m, h) for _, m, h in sorted(train + test, key=lambda t: t[0]))
    return out


def load_cases(
    names: Iterable[str] = tuple(SETS),
    root: str | os.PathLike[str] | None = None,
    per_group: int | None = None,
    rows_per_file: int | None = None,
) -> list[tuple[str, Case]]:
    """(set name, analysed one-op case) for the sampled rows (ops with no single-kernel
    graph are skipped: measured.UNMODELLED)."""
    out = []
    for name, m, h in load_measurements(names, root, per_group, rows_per_file):
        c = build_case(m, h)
        if c is not None:
            out.append((name, c))
    return out
