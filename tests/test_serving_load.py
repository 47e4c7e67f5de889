"""The continuous-batching load model (planners/serving_load.py): its closed forms on
hand-made step tables, its agreement with the step-by-step simulation of the same engine
(serving_sim.py), and batching invariance (an array of configurations answers as each
configuration alone does)."""

from __future__ import annotations

import numpy as np
import pytest

from costmodel.errors import PlanError
from costmodel.planners.llm import ServingCase
from costmodel.planners.serving_load import Lengths, Load, at_rate, evaluate
from costmodel.planners.serving_sim import simulate
from costmodel.planners.serving_steps import MemoryBudget
from costmodel.planners.serving_table import StepTable, chunk_offset, step_table


def flat_table(decode_s: float = 0.010, per_token_s: float = 1e-5, max_batch: int = 1000) -> StepTable:
    """An engine whose decode step takes `decode_s` at any batch and context, and whose
    prompt tokens cost `per_token_s` each (no fixed part)."""
    grid = np.asarray([1.0, 2.0, 4096.0])
    toks = np.asarray([0.0, 1.0, 8192.0])
    return StepTable(
        grid,
        np.full(3, decode_s),
        np.full(3, decode_s),
        1.0,
        1.0,
        toks,
        toks * per_token_s,
        2048,
        max_batch,
        1,
        None,
        MemoryBudget(0, 0, 1, 1.0),
    )


def test_decoding_batch_and_step_time_closed_form():
    """10 req/s of 1,000-token prompts: prompt work 10 x 1000 x 1e-5 = 10% of the
    device, so the mean step is 10 ms / (1 - 0.1) = 11.11 ms, and Little's law puts
    10 x (101 - 1) x 11.11 ms = 11.11 sequences in decode."""
    load = Load(10.0, Lengths.fixed(1000), Lengths.fixed(101))
    r = at_rate(flat_table(), load)
    assert r["stable"]
    assert r["tpot_s"] == pytest.approx(0.010 / 0.9, rel=1e-9)
    assert r["batch"] == pytest.approx(10 * 100 * 0.010 / 0.9, rel=1e-9)
    assert r["prefill_share"] == pytest.approx(0.1, rel=1e-9)
    assert r["throughput_tokens_per_s"] == pytest.approx(10 * 101)
    # the TTFT is at least the prompt's own step: one decode step + 1000 x 10 us
    assert r["ttft_p50_s"] >= 0.010 + 1000 * 1e-5
    assert r["ttft_p50_s"] <= r["ttft_p90_s"] <= r["ttft_p99_s"]
    assert r["tpot_p50_s"] <= r["tpot_p90_s"] <= r["tpot_p99_s"]


def test_instability_reasons():
    out = Lengths.fixed(101)
    # 100 req/s x 1,000 tokens x 1e-5 s = the whole device for prompts alone
    r = at_rate(flat_table(), Load(100.0, Lengths.fixed(1000), out))
    assert not r["stable"] and "prefill alone needs 1.00x" in r["reason"]
    # 10 req/s x 100 steps x >= 10 ms = 10+ sequences decoding, but memory holds 8
    r = at_rate(flat_table(max_batch=8), Load(10.0, Lengths.fixed(1000), out))
    assert not r["stable"] and r["reason"].startswith("memory:")
    assert r["tpot_s"] is None and r["ttft_p99_s"] is None
    # two replicas halve the load: stable again
    assert at_rate(flat_table(max_batch=8), Load(10.0, Lengths.fixed(1000), out), replicas=2)["stable"]


def test_lengths_parse_and_validate():
    d = Lengths.parse("256:3,1024:1", "--prompt-len")
    assert d.values == (256, 1024) and d.weights == (0.75, 0.25)
    assert d.mean == pytest.approx(0.75 * 256 + 0.25 * 1024)
    assert Lengths.parse("512", "x") == Lengths.fixed(512)
    for bad in ("", "0", "12:-1", "a,b", "5:x"):
        with pytest.raises(PlanError):
            Lengths.parse(bad, "--prompt-len")
    with pytest.raises(PlanError):
        Load(0.0, Lengths.fixed(1), Lengths.fixed(1))


def test_chunk_offset():
    # 8,192-token prompts in 2,048-token chunks start at 0, 2048, 4096, 6144: mean 3072
    assert chunk_offset(Lengths.fixed(8192), 2048) == 3072
    assert chunk_offset(Lengths.fixed(1024), 2048) == 0


def test_array_answers_as_each_configuration_alone():
    case = ServingCase.of("llama-3.2-1b", "h100")
    lp, lo = Lengths.parse("128:1,1024:1", "p"), Lengths.parse("64,256", "o")
    table = step_table(case, lp, lo)
    load = Load(40.0, lp, lo, 0.9)
    caps = np.asarray([8, 64, 64, 256, 10**6, 32])
    reps = np.asarray([1, 1, 2, 3, 1, 5])
    together = evaluate(table, load, caps, reps)
    for i in range(len(caps)):
        alone = evaluate(table, load, caps[i : i + 1], reps[i : i + 1])
        for k, v in together.items():
            np.testing.assert_array_equal(v[..., i], alone[k][..., 0], err_msg=k)


@pytest.mark.parametrize(
    "model, tp, prompt, output, rate",
    [
        ("llama-3-8b", 1, "1024", "256", 15.0),
        ("llama-3-8b", 1, "256:1,2048:1", "64:3,512:7", 6.0),
    ],
)
def test_analytic_model_tracks_the_simulation(model, tp, prompt, output, rate):
    """The queueing approximations against the engine simulated step by step on the
    same step table (1,500 requests, seeded). The decoding batch, TPOT and the medians
    within 12%, the mean TTFT within 15%, the tails (p90, p99) within 30% — the
    approximations' measured spread (docs/serving.md)."""
    case = ServingCase.of(model, "h100", tp=tp)
    lp, lo = Lengths.parse(prompt, "p"), Lengths.parse(output, "o")
    table = step_table(case, lp, lo)
    load = Load(rate, lp, lo)
    a = at_rate(table, load)
    s = simulate(table, load, requests=1500, seed=1)
    assert a["stable"]
    for key, tol in [
        ("batch", 0.12),
        ("ttft_s", 0.15),
        ("tpot_s", 0.12),
        ("ttft_p50_s", 0.12),
        ("tpot_p50_s", 0.12),
        ("ttft_p90_s", 0.30),
        ("ttft_p99_s", 0.30),
        ("tpot_p90_s", 0.30),
        ("tpot_p99_s", 0.30),
    ]:
        assert a[key] == pytest.approx(s[key], rel=tol), key


def test_simulation_confirms_an_unstable_load():
    """Prompts arriving faster than the engine prefills them: the model says unstable;
    the simulated TTFT keeps growing with the requests served."""
    case = ServingCase.of("llama-3-8b", "h100")
    lp, lo = Lengths.fixed(2048), Lengths.fixed(64)
    table = step_table(case, lp, lo)
    load = Load(30.0, lp, lo)
    assert not at_rate(table, load)["stable"]
    short = simulate(table, load, requests=400)["ttft_s"]
    long = simulate(table, load, requests=1200)["ttft_s"]
    assert long > 2 * short
