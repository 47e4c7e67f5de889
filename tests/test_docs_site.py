"""docs/ is a small mkdocs site (issue 18): it builds with --strict (a page missing from
the nav or a broken link to a page is an error) and carries the API reference."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_docs_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")  # comes with the dev extra
    site = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", os.path.join(ROOT, "mkdocs.yml"), "-d", str(site)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("analyze", "llm", "train", "plan_train", "plan_serve", "hardware"):
        assert f"costmodel.{name}(" in api, name
    pages = {f[:-3] for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")}
    built = {p.name for p in site.iterdir() if p.is_dir()} | {"index"}
    assert pages <= built, pages - built


def test_api_page_names_only_what_the_package_exports():
    import costmodel

    text = open(os.path.join(ROOT, "docs", "api.md"), encoding="utf-8").read()
    for name in costmodel.__all__:
        if name not in ("CostModelError", "__version__"):
            assert f"## `costmodel.{name}(" in text, name
