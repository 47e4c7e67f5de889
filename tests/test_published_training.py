"""Published training runs (benchmarks/data/published_training.json, each with its source)
predicted by the one training model, nothing fitted per run; docs/training.md lists the
per-run errors (python -m benchmarks.published_training --markdown)."""

from __future__ import annotations

from benchmarks.published_training import load, rows, summary


def test_every_published_run_is_expressible_and_cited():
    runs = load()
    assert len(runs) >= 50
    assert all(r["source"] and r["measured"]["value"] > 0 for r in runs)
    ids = [r["id"] for r in runs]
    assert len(set(ids)) == len(ids)


def test_published_runs_median_error():
    rs = rows()
    s = summary(rs)
    print(s)  # reported with -s
    # issue 16's bar for published runs: median |error| <= 12% (goal 5%)
    assert s["median_abs_error"] <= 0.12
    # the Megatron-LM iterations (Narayanan 2021, Korthikanti 2022): issue 16's bar is a 5%
    # mean, met at 4.1% (docs/training.md); the guard holds today's level
    assert s["megatron_mean_abs_error"] <= 0.05
    assert s["megatron_mean_abs_error"] <= 0.042
