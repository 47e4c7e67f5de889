"""plan train: the array search ranks layouts exactly as a loop over estimate_training
would, prunes by memory, and honours --top and --goal in every format."""

from __future__ import annotations

import json

import pytest

from cli.main import main as cli_main
from costmodel.errors import PlanError
from costmodel.frontends import load_model_spec
from costmodel.hardware.systems import get_system
from costmodel.planners.training import estimate_training
from costmodel.planners.training_search import _structures, recipe_for, search_training


def test_search_top10_is_the_exhaustive_loops_top10():
    """Every layout of the space through estimate_training one at a time, ranked the same
    way, against the array search: the same ten, in the same order, with the same times."""
    kw = dict(recomputes=("none", "full"), zeros=(0, 1, 3), offloads=(False,))
    res = search_training("llama-3.2-1b", ["dgx-h100"], [8, 16], 64, 2048, 1e10, **kw)
    spec, system = load_model_spec("llama-3.2-1b"), get_system("dgx-h100")
    loop = []
    for g in (8, 16):
        for s in _structures(spec, system, g, 64, 2048):
            for sp in (True, False) if s["tp"] > 1 else (False,):
                for z in kw["zeros"]:
                    if z and s["dp"] * s["cp"] == 1:
                        continue
                    for rc in kw["recomputes"]:
                        label = {
                            "hardware": "dgx-h100",
                            "gpus": g,
                            "tp": s["tp"],
                            "pp": s["pp"],
                            "dp": s["dp"],
                            "cp": s["cp"],
                            "ep": s["ep"],
                            "interleave": s["v"],
                            "micro_batch": s["mb"],
                            "sequence_parallel": sp,
                            "recompute": rc,
                            "zero": z,
                            "offload": False,
                        }
                        lay, rec = recipe_for(label, 64, 2048)
                        p = estimate_training(spec, system, lay, rec)
                        if p.fits:
                            loop.append((p.step_latency_s, tuple(label.values()), label))
    assert res.evaluated == len(loop) + sum(res.rejected.values())
    loop.sort(key=lambda t: (t[0], t[1]))
    top = res.candidates[:10]
    assert [c.label for c in top] == [t[2] for t in loop[:10]]
    assert [c.summary["step_s"] for c in top] == [t[0] for t in loop[:10]]


def test_a_cost_goal_without_prices_is_a_usage_error(capsys):
    with pytest.raises(PlanError, match="--price"):
        search_training("llama-3.2-1b", ["dgx-h100"], [8], 64, 2048, 1e10, goal="cost")
    rc = cli_main(
        ["plan", "train", "llama-3.2-1b", "-H", "dgx-h100", "--gpus", "8", "--batch", "64"]
        + ["--seq-len", "2048", "--tokens", "1e10", "--goal", "cost"]
    )
    assert rc == 2 and "--price" in capsys.readouterr().err


def test_top_is_honoured_in_json(capsys):
    argv = ["plan", "train", "llama-3.2-1b", "-H", "dgx-h100", "--gpus", "8", "--batch", "64"]
    argv += ["--seq-len", "2048", "--tokens", "1e10", "--top", "3", "--format", "json"]
    assert cli_main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["top"] == 3 and len(d["candidates"]) == 3
    assert d["evaluated"] == d["feasible"] + sum(d["rejected"].values()) > 3
    days = [c["days"] for c in d["candidates"]]
    assert days == sorted(days)


def test_plan_search_reports_progress_to_the_end():
    """Issue 18: progress for `plan train` (the CLI draws these calls as a bar on a terminal)."""
    from costmodel.planners.training_search import search_training

    seen = []
    search_training("gpt-2", ["h100"], [1, 2], 8, 256, 1e8, on_progress=lambda d, t, w: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] == len(seen)
