"""Reasoning budgets: output lengths past the context window are refused with the limit
named (or costed with --allow-past-context); expected FLOPs, latency and cost per query
over a distribution of output lengths."""

from __future__ import annotations

import json

import pytest

from costmodel.frontends.builtin import get_spec
from costmodel.frontends.lower import Logits, Phase, Workload
from costmodel.planners import llm_extras as X
from costmodel.planners.llm import ServingCase
from costmodel.planners.workload import run_workload
from costmodel_cli.main import main


def test_past_context_is_exit_2_naming_the_limit(capsys):
    rc = main(["llm", "llama-3-8b", "-H", "h100", "--prompt-len", "512", "--output-lens", "1000,300000"])
    err = capsys.readouterr().err
    assert rc == 2 and "8192" in err and "--allow-past-context" in err and err.count("\n") == 1
    rc = main(["llm", "llama-3-8b", "-H", "h100", "--prompt-len", "8000", "--output-len", "500", "--format", "json"])
    assert rc == 2 and "8192" in capsys.readouterr().err


def test_allow_past_context_costs_it_with_a_note(capsys):
    argv = ["llm", "llama-3-8b", "-H", "h100", "--prompt-len", "8000", "--output-len", "500"]
    rc = main([*argv, "--allow-past-context", "--no-breakdown", "--format", "json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and any("8192" in n for n in d["notes"])


def test_expected_flops_latency_cost_of_a_distribution(capsys):
    """FLOPs per request of one sequence: the prefill plus one decode step per further
    token, each summed here step by step; the expectation weights them 0.75 / 0.25."""
    s = get_spec("llama-3.2-1b")

    def by_steps(prompt: int, n: int) -> int:
        f = int(run_workload(s, Workload(Phase.PREFILL, 1, prompt, 0, Logits.LAST)).cost.flops)
        for j in range(n - 1):
            f += int(run_workload(s, Workload(Phase.DECODE, 1, 1, prompt + j, Logits.LAST)).cost.flops)
        return f

    case = ServingCase.of("llama-3.2-1b", "h100", price_per_hour=3.6)
    d = X.output_length_distribution(case, 64, [4, 8], [3, 1])
    assert d["p_flops"] == {4: by_steps(64, 4), 8: by_steps(64, 8)}
    assert d["expected_flops"] == pytest.approx(0.75 * by_steps(64, 4) + 0.25 * by_steps(64, 8))
    assert d["expected_output_tokens"] == pytest.approx(0.75 * 4 + 0.25 * 8)
    lat = 0.75 * d["p_latency_s"][4] + 0.25 * d["p_latency_s"][8]
    assert d["expected_latency_s"] == pytest.approx(lat)
    assert d["expected_cost_usd"] == pytest.approx(lat * 3.6 / 3600)  # one device, batch 1
    rc = main(
        ["llm", "llama-3.2-1b", "-H", "h100", "--prompt-len", "64", "--output-lens", "4:3,8:1", "--format", "json"]
    )
    j = json.loads(capsys.readouterr().out)["extras"]["output_distribution"]
    assert rc == 0 and j["weights"] == {"4": 0.75, "8": 0.25}


@pytest.mark.parametrize("bad", ["4:-1", "x", "0", "4:nan", ""])
def test_bad_distributions_exit_2(capsys, bad):
    assert main(["llm", "llama-3.2-1b", "-H", "h100", "--output-lens", bad]) == 2
    assert capsys.readouterr().err.startswith("costmodel: error:")
