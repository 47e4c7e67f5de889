"""The HTML report in a real headless Chromium (Debian's `chromium`): the page loads from
a file with no console error and no network request, its charts render (SVG with data
points), its numbers equal the JSON report's, and its tables sort.

Skipped only where chromium is not installed; .ci/run installs it and sets
COSTMODEL_REQUIRE_CHROMIUM, so in CI a missing browser fails instead of skipping."""

from __future__ import annotations

import json
import os

import pytest

from costmodel_cli.main import main
from tests.chromium import Browser, chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("COSTMODEL_REQUIRE_CHROMIUM"),
    reason="chromium is not installed (apt-get install chromium)",
)


def _report(capsys, tmp_path, name: str, *argv: str) -> tuple[str, dict]:
    page = tmp_path / f"{name}.html"
    assert main([*argv, "--format", "html", "--output", str(page)]) == 0
    capsys.readouterr()
    assert main([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    return page.as_uri(), data


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def _offline_and_clean(page, url: str) -> None:
    assert page.errors() == []
    assert all(u == url or u.startswith(("data:", "blob:")) for u in page.requests()), page.requests()


def _kv(page, key: str) -> str:
    return page.eval(f"document.querySelector('table.kv tr[data-key=\"{key}\"] td').dataset.v")


def test_analyze_report(capsys, tmp_path, browser):
    url, d = _report(capsys, tmp_path, "resnet", "analyze", "--example", "resnet50", "--hardware", "h100")
    html = open(url[len("file://") :]).read()
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    page = browser.open(url)
    assert page.wait_for("document.querySelectorAll('#chart-roofline .main-svg').length") >= 1
    drawn = page.eval("document.querySelectorAll('#chart-roofline .scatterlayer .point').length")
    timed = [o for o in d["ops"] if o.get("time_s") and o["flops"] and o["bytes_read"] + o["bytes_written"]]
    assert drawn == len(timed) > 100  # every timed op that does arithmetic is a point
    _offline_and_clean(page, url)
    # the page's numbers are the JSON's
    assert int(_kv(page, "flops")) == d["flops"]
    assert int(_kv(page, "params")) == d["params"]
    assert int(_kv(page, "bytes_read")) == d["bytes_read"]
    assert float(_kv(page, "latency_s")) == d["latency_s"]
    assert page.eval("JSON.parse(document.getElementById('costmodel-json').textContent).flops") == d["flops"]
    # the by-type table sorts by a click on its header
    first = "document.querySelector('table[data-key=by_type] tbody tr td').textContent"
    page.eval("document.querySelectorAll('table[data-key=by_type] th')[2].click()")  # FLOPs, ascending
    low = page.eval(first)
    page.eval("document.querySelectorAll('table[data-key=by_type] th')[2].click()")  # descending
    assert page.eval(first) == max(d["by_type"], key=lambda k: d["by_type"][k]["flops"]) != low


def test_llm_report(capsys, tmp_path, browser):
    url, d = _report(
        capsys,
        tmp_path,
        "llm",
        "llm",
        "llama-3-8b",
        "--hardware",
        "h100",
        "--prompt-len",
        "256",
        "--output-len",
        "16",
        "--sweep",
    )
    page = browser.open(url)
    for chart in ("decode_roofline", "sweep", "pareto"):
        assert page.wait_for(f"document.querySelectorAll('#chart-{chart} .main-svg').length") >= 1, chart
        assert page.eval(f"document.querySelectorAll('#chart-{chart} .point').length") > 0, chart
    _offline_and_clean(page, url)
    assert float(_kv(page, "ttft_s")) == d["prefill"]["latency_s"]
    assert float(_kv(page, "tpot_s")) == d["decode"]["latency_s"]
    assert int(_kv(page, "decode_flops")) == d["decode"]["flops"]
    assert int(_kv(page, "weights_bytes")) == d["memory"]["weights_bytes"]
    shares = page.eval(
        "Array.from(document.querySelectorAll('table[data-key=decode_breakdown] tbody tr'))"
        ".map(r => parseFloat(r.cells[3].dataset.v))"
    )
    assert sum(shares) == pytest.approx(1.0, rel=1e-9)  # the components add up to the decode step


def test_hostile_names_stay_text_in_the_browser(capsys, tmp_path, browser):
    spec = tmp_path / "evil.yaml"
    spec.write_text(
        'name: "<img src=x onerror=alert(1)><script>alert(2)</script>[bold]"\narchitecture: decoder\n'
        "vocab_size: 64\nhidden_size: 32\nnum_layers: 1\nnum_heads: 2\nintermediate_size: 64\n"
    )
    url, _ = _report(
        capsys, tmp_path, "evil", "analyze", str(spec), "--set", "batch=1", "--set", "seq=4", "--hardware", "h100"
    )
    page = browser.open(url)
    page.wait_for("document.querySelectorAll('.main-svg').length")
    _offline_and_clean(page, url)
    assert page.eval("document.querySelectorAll('img').length") == 0
    assert page.eval("document.querySelectorAll('script').length") == 4  # data, sorting, plotly, figures
    assert "<script>alert(2)</script>" in page.eval("document.querySelector('h1').textContent")
