"""plan serve (planners/search_serving.py) and its agreement with llm --rate; the
max_batch and context-length contracts of the serving planner."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.errors import PlanError
from costmodel.frontends.builtin import get_spec
from costmodel.planners import llm_extras as X
from costmodel.planners.llm import ServingCase, plan_llm
from costmodel.planners.search_serving import search_serving
from costmodel.planners.workload import param_count
from costmodel_cli.main import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_plan_serve_and_llm_rate_agree_on_the_issue_example():
    """Issue 16: Llama-3-70B on H100 at 10 req/s of 1,024 + 256 tokens, TTFT 1 s, TPOT
    50 ms. plan serve's best bf16 answer per layout is the replica count llm --rate
    reports for that layout, and llm --rate says those replicas meet the SLOs and one
    fewer does not."""
    s = search_serving(
        "llama-3-70b", ["h100"], 1024, 256, 10.0, 1.0, 0.05, tps=(2, 4, 8), weight_dtypes=(None,), caps=(0,)
    )
    ok = [c for c in s.candidates if c.ok]
    assert ok and ok[0].summary["devices"] <= 8  # was 24 with the static-batch search
    for c in ok:
        case = ServingCase.of("llama-3-70b", "h100", tp=c.label["tp"])
        reps = c.summary["replicas"]
        r = X.continuous_batching(case, 10.0, 1024, 256, c.label["batch_cap"], replicas=reps, ttft=1.0, tpot=0.05)
        assert r["meets_slo"] and r["replicas_needed"] == reps
        assert r["devices_needed"] == c.summary["devices"]
        assert r["ttft_p99_s"] == pytest.approx(c.summary["ttft_p_s"], rel=1e-9)
        if reps > 1:
            fewer = X.continuous_batching(case, 10.0, 1024, 256, c.label["batch_cap"], replicas=reps - 1)
            assert not (fewer["stable"] and fewer["ttft_p99_s"] <= 1.0 and fewer["tpot_p99_s"] <= 0.05)


def test_long_prompts_need_the_prefill_compute():
    """20 req/s of 7,680-token prompts (issue 16: the static-batch search picked 1 H100):
    prefill alone is 20 x 2 x params x 7,680 FLOPs per second, so the devices are at
    least that over the H100's dense bf16 peak, 989 TFLOP/s (datasheet)."""
    s = search_serving("llama-3-70b", ["h100"], 7680, 256, 20.0, 2.0, 0.05, tps=(4, 8), weight_dtypes=(None,))
    best = next(c for c in s.candidates if c.ok)
    floor = 20 * 2 * param_count(get_spec("llama-3-70b")) * 7680 / 989e12
    assert best.summary["devices"] >= floor


def test_array_search_matches_the_exhaustive_loop():
    """Issue 17: the array path's answers are the exhaustive loop's (a fresh step table
    and one load-model call per configuration): identical ranking and numbers."""
    kw = dict(tps=(1, 2), weight_dtypes=(None, "fp8"), caps=(16, 64, 0), max_devices=12)
    fast = search_serving("llama-3.2-1b", ["h100", "a100"], 512, 128, 60.0, 0.5, 0.02, **kw)
    slow = search_serving("llama-3.2-1b", ["h100", "a100"], 512, 128, 60.0, 0.5, 0.02, exhaustive=True, **kw)
    assert fast.evaluated == slow.evaluated > 0
    assert [c.to_dict() for c in fast.candidates[:10]] == [c.to_dict() for c in slow.candidates[:10]]
    assert [c.to_dict() for c in fast.candidates] == [c.to_dict() for c in slow.candidates]


def test_moe_layouts_are_searched():
    s = search_serving("mixtral-8x7b", ["h100"], 512, 128, 5.0, 2.0, 0.1, tps=(8,), weight_dtypes=(None,))
    layouts = {(c.label["tp"], c.label["dp"], c.label["ep"]) for c in s.candidates}
    assert (8, 1, 1) in layouts and (1, 8, 8) in layouts and (1, 2, 2) in layouts


def test_goal_cost_needs_prices():
    with pytest.raises(PlanError, match="price for h100"):
        search_serving("llama-3.2-1b", ["h100"], 256, 64, 4.0, 1.0, 0.05, goal="cost")
    s = search_serving(
        "llama-3.2-1b", ["h100", "a100"], 256, 64, 4.0, 1.0, 0.05, {"h100": 4.0, "a100": 1.0}, goal="cost"
    )
    best = s.candidates[0]
    price = {"h100": 4.0, "a100": 1.0}[best.label["hardware"]]
    assert best.ok and best.score == best.summary["usd_per_hour"] == best.summary["devices"] * price


def test_cli_plan_serve(capsys):
    rc, out, _ = run(
        capsys,
        *"plan serve llama-3.2-1b -H h100 --prompt-len 256:3,1024:1 --output-len 64 --rate 20".split(),
        *"--top 3 --format json".split(),
    )
    d = json.loads(out)
    assert rc == 0 and d["evaluated"] > 100 and len(d["candidates"]) == 3
    assert d["load"]["prompt"]["mean"] == pytest.approx(0.75 * 256 + 0.25 * 1024)
    c = d["candidates"][0]
    assert c["ok"] and c["devices"] == c["replicas"] * c["tp"] * c["dp"]


@pytest.mark.parametrize(
    "argv, message",
    [
        ("plan serve llama-3-8b -H h9000 --prompt-len 10 --output-len 10 --rate 1", "h200"),
        ("plan serve llama-3-8b -H h100 --prompt-len 10 --output-len 10 --rate 1 --goal cost", "--price"),
        ("plan serve llama-3-8b -H h100 --prompt-len 8000 --output-len 500 --rate 1", "8192"),
        ("llm llama-3-8b -H h100 --prompt-len 8000 --output-len 500", "8192"),
        ("plan serve llama-3-8b -H h100 --prompt-len 1:x --output-len 10 --rate 1", "LEN:WEIGHT"),
        ("plan serve llama-3-8b -H h100 --prompt-len 10 --output-len 10 --rate 1 --weights fp7", "fp7"),
        ("llm llama-3-8b -H h100 --ttft 1", "go with --rate"),
        ("llm llama-3-8b -H h100 --batch-cap 8", "go with --rate or --capacity"),
        ("llm mixtral-8x7b -H h100 --ep 4", "dp x tp"),
        ("llm llama-3-8b -H h100 --dp 2 --ep 2", "no experts"),
    ],
)
def test_cli_usage_errors_exit_2(capsys, argv, message):
    rc, _, err = run(capsys, *argv.split())
    assert rc == 2 and message in err and err.count("\n") == 1


def test_allow_past_context():
    p = plan_llm("llama-3-8b", "h100", prompt_len=8000, output_len=500, allow_past_context=True)
    assert any("8192" in n for n in p.notes)


@settings(max_examples=12, deadline=None)
@given(st.integers(min_value=1, max_value=5000))
def test_max_batch_is_the_same_for_every_batch(batch):
    """Issue 16: 583 at batch 1 and 4,297 at batch 4,000 before; memory alone now."""
    ref = plan_llm("llama-3-8b", "h100", batch=1, prompt_len=1024, output_len=1024).max_batch
    assert plan_llm("llama-3-8b", "h100", batch=batch, prompt_len=1024, output_len=1024).max_batch == ref


def test_max_batch_from_first_principles():
    """Llama-3-8B bf16 on an 80 GiB H100 at 2,048 tokens of context: each sequence holds
    131,072 B of KV cache per token (32 layers x 8 KV heads x 128 x 2 x 2 B) and a fp32
    logits row of 128,256 x 4 B; the weights are 2 x params. What is left for sequences
    lies between 0.95 x 80 GiB - weights - 2 GiB (one chunked-prefill step's transients
    and the runtime's reserve are well under 2 GiB) and 0.95 x 80 GiB - weights."""
    p = plan_llm("llama-3-8b", "h100", batch=1, prompt_len=1024, output_len=1024)
    per_seq = 131_072 * 2048 + 4 * 128_256
    room = 0.95 * 80 * 2**30 - 2 * param_count(get_spec("llama-3-8b"))
    assert (room - 2 * 2**30) // per_seq <= p.max_batch <= room // per_seq
    assert p.memory.weights_bytes == 2 * param_count(get_spec("llama-3-8b"))


def test_fp8_weights_run_the_fp8_recipe_where_the_device_has_fp8_tensor_cores():
    """vLLM: FP8 W8A8 on compute capability >= 8.9, weight-only (FP8 Marlin) on Ampere."""
    from costmodel.hardware.systems import get_system
    from costmodel.planners.search_serving import _setup

    hopper = _setup("fp8", get_system("h100"), False, "none")
    ampere = _setup("fp8", get_system("a100-sxm4-80gb"), False, "none")
    assert (hopper.recipe, hopper.weight_dtype, hopper.dtype) == ("fp8", None, "bf16")
    assert (ampere.recipe, ampere.weight_dtype) == (None, "fp8")
    assert _setup("int4", get_system("h100"), False, "none").weight_dtype == "int4"
    assert _setup("fp4", get_system("b200"), False, "none").recipe == "fp4"
