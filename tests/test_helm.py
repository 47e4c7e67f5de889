"""`costmodel llm --helm`: HELM's idealized runtimes in its reference setup, checked
against HELM's published table (tests/data, Apache-2.0, see tests/data/README.md), in
HELM's own JSON structure."""

from __future__ import annotations

import json
import os
import statistics

import pytest

from costmodel.frontends.builtin import get_spec
from costmodel.planners import helm as H
from costmodel_cli.main import main

DATA = os.path.join(os.path.dirname(__file__), "data", "helm_inference_idealized_runtimes.json")


def published() -> dict:
    with open(DATA) as f:
        return json.load(f)


def run(capsys, *argv) -> str:
    rc = main(["llm", *argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out


def errors(ours: dict, theirs: dict) -> list[float]:
    e = [ours["runtime_per_output_token"] / theirs["runtime_per_output_token"] - 1]
    for p, t in theirs["runtime_for_prompt_tokens"].items():
        e.append(ours["runtime_for_prompt_tokens"][p] / t - 1)
    return [abs(x) for x in e]


@pytest.mark.parametrize(
    "model, row, gpus",
    [
        ("gpt-j-6b", "huggingface/gptj_6b", 1),  # 12 GB of fp16 weights: one A100 80GB
        ("gpt-3-175b", "openai/davinci", 8),  # 350 GB: five GPUs hold it, a power of two dividing 96 heads is 8
    ],
)
def test_reference_setup_matches_helms_published_runtimes(capsys, model, row, gpus):
    """Both rows are held out of the fit of the setup's three constants (curie, j1-jumbo:
    benchmarks/fit_helm.py)."""
    d = json.loads(run(capsys, model, "--helm", "--helm-name", row, "--format", "json"))
    ours = d[row]
    assert ours["num_accelerators"] == gpus
    e = errors(ours, published()[row])
    assert len(e) == 28  # g and HELM's 27 prompt sizes
    assert statistics.median(e) <= 0.08 and max(e) <= 0.20


def estimated_runtime(table: dict, model: str, prompt: int, output: int) -> float:
    """HELM's use of the table (basic_metrics.compute_estimated_time_from_prompt_size_and_
    num_output_tokens, as its docstring describes it): the smallest tabulated prompt size
    at least `prompt`, scaled by prompt / size (the largest size scaled beyond it), plus
    g (output - 1)."""
    row = table[model]
    sizes = sorted(int(k) for k in row["runtime_for_prompt_tokens"])
    key = next((s for s in sizes if prompt <= s), sizes[-1])
    r = row["runtime_for_prompt_tokens"][str(key)] * prompt / key
    return r + row["runtime_per_output_token"] * (output - 1)


def test_the_output_loads_where_helms_does(capsys):
    mine = json.loads(run(capsys, "gpt-j-6b", "--helm", "--format", "json"))
    theirs = published()
    (entry,) = mine.values()
    ref = theirs["huggingface/gptj_6b"]
    assert set(ref) <= set(entry)  # HELM's keys, nested the same way
    assert list(entry["runtime_for_prompt_tokens"]) == list(ref["runtime_for_prompt_tokens"])  # the 27 sizes
    assert all(isinstance(v, float) for v in entry["runtime_for_prompt_tokens"].values())
    both = {**theirs, **mine}
    for p, o in ((100, 1), (1000, 50), (3000, 10)):
        assert estimated_runtime(both, "gpt-j-6b", p, o) > 0
    # the cost-aware variant: accelerator-seconds are runtime x accelerators
    acc = entry["accelerator_seconds_for_prompt_tokens"]
    assert all(
        acc[k] == pytest.approx(v * entry["num_accelerators"]) for k, v in entry["runtime_for_prompt_tokens"].items()
    )


def test_markdown_and_html_keep_the_table(capsys):
    md = run(capsys, "gpt-j-6b", "--helm", "--format", "markdown")
    rows = [
        line
        for line in md.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().replace(",", "").isdigit()
    ]
    assert len(rows) == 27 and "1,920" in md
    html = run(capsys, "gpt-j-6b", "--helm", "--format", "html")
    assert html.count("<tr") >= 27


def test_gpu_count_rule():
    # fewest power-of-two A100 80GB (90% for weights) dividing the heads
    spec = get_spec("gpt-3-175b")
    assert H.min_gpus(spec, 80 * 2**30, 175e9 * 2) == 8  # 350 GB / 77.3 GB -> 5 -> 8
    assert H.min_gpus(spec, 80 * 2**30, 12e9) == 1
    assert H.reference_case(get_spec("llama-2-70b")).layout.tp == 2  # 138 GB -> 2


def test_a_model_that_does_not_fit_is_refused(capsys):
    assert main(["llm", "llama-3-70b", "--helm", "given", "-H", "h100", "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert "does not fit" in err and err.count("\n") == 1
    assert main(["llm", "llama-3.2-1b", "--helm", "--draft", "llama-3.2-1b"]) == 2
    assert main(["llm", "llama-3.2-1b"]) == 2  # no --hardware without --helm
