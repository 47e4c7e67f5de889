"""Fit the host constants of eager training (costmodel/planners/training_host.py) on a
documented subset of benchmarks/data/h200-train-2026-12-04.json, and print them with the
held-out errors:
- FORWARD_HOST, BACKWARD_HOST: the nanoGPT-style 1 x 1024 foreach row's synced forward
  and backward parts, each a stream started on an idle GPU: part = G + P (bisection);
- OPTIMIZER_HOST_PER_TENSOR: per AdamW implementation, the median synced optimizer part
  of the Hugging Face rows, inverted in closed form (part = G + peak(G, n, H));
- ZERO_GRAD_PER_TENSOR: the median zero_grad part of the Hugging Face rows.
Held out: the other nanoGPT-style rows (8 x 1024 foreach and fused, 32 x 1024).

    python -m benchmarks.fit_train_host
"""

from __future__ import annotations

import json
import os
import statistics
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "h200-train-2026-12-04.json")


def _cases() -> list[dict[str, Any]]:
    with open(DATA, encoding="utf-8") as f:
        return [c for c in json.load(f)["cases"] if c["model"] == "gpt2"]


def _work(batch: int, seq: int) -> Any:
    from costmodel.frontends import load_model_spec
    from costmodel.hardware import get_profile
    from costmodel.planners import training_cost
    from costmodel.planners.layout import make_layout, make_recipe

    training_cost._CACHE.clear()
    spec = load_model_spec("gpt-2")
    lay = make_layout(spec, 1, batch, seq, micro_batch=batch)
    rec = make_recipe(batch, seq, precision="bf16-autocast")
    return training_cost.model_work(spec, lay, rec, get_profile("h200"), True)


def _synced(batch: int, seq: int, backward: bool) -> float:
    from costmodel.planners.training_host import chain

    mw = _work(batch, seq)
    works = [mw.embed, *mw.layers, mw.head]
    d: tuple[float, float] = (0.0, 0.0)
    g = 0.0
    for w in reversed(works) if backward else works:
        d = chain(d, (w.drift_b, w.peak_b) if backward else (w.drift_f, w.peak_f))
        g += w.bwd_s if backward else w.fwd_s
    return g + d[1]


def _bisect(name: str, target: float, batch: int, seq: int, backward: bool) -> float:
    from costmodel.planners import training_cost

    lo, hi = 0.0, 100.0
    for _ in range(60):
        mid = (lo + hi) / 2
        setattr(training_cost, name, mid)
        if _synced(batch, seq, backward) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def main() -> int:
    from costmodel.frontends import load_model_spec
    from costmodel.hardware.systems import get_system
    from costmodel.planners import training_cost
    from costmodel.planners.training import plan_training
    from costmodel.planners.training_core import evaluate
    from costmodel.planners.training_inputs import single

    cases = _cases()
    fit = next(c for c in cases if c["impl"] == "nano" and c["batch"] == 1 and c["optimizer"] == "adamw-foreach")
    kf = _bisect("FORWARD_HOST", fit["parts_s"]["forward"], fit["batch"], fit["seq_len"], False)
    training_cost.FORWARD_HOST = kf
    kb = _bisect("BACKWARD_HOST", fit["parts_s"]["backward"], fit["batch"], fit["seq_len"], True)
    training_cost.BACKWARD_HOST = kb
    hf = [c for c in cases if c["impl"] == "hf"]
    spec, system = load_model_spec("gpt-2"), get_system("h200")
    tensors = 148.0  # GPT-2's parameter tensors (the head tied to the embedding)
    opt: dict[str, float] = {}
    for impl in ("fused", "foreach", "per-tensor"):
        part = statistics.median(c["parts_s"]["optimizer"] for c in hf if c["optimizer"] == f"adamw-{impl}")
        p = plan_training(spec, system, 1, 8, 1024, micro_batch=8, optimizer_impl=impl)
        r = evaluate(single(spec, system, p.layout, p.recipe, True), system)
        g, n = float(r.optimizer_gpu_s[0]), float(r.optimizer_ops[0])
        # part = G + max(H - G (1 - 1/n), H / n): the first branch holds when H >= G
        h = part - g / n if part - g / n >= g else n * (part - g)
        opt[impl] = h / tensors
    zg = statistics.median(c["parts_s"]["zero_grad"] for c in hf) / tensors
    out = {"FORWARD_HOST": kf, "BACKWARD_HOST": kb, "OPTIMIZER_HOST_PER_TENSOR": opt, "ZERO_GRAD_PER_TENSOR": zg}
    print(json.dumps(out, allow_nan=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
