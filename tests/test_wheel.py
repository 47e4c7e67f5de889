"""The wheel as a user installs it: built from the checkout, installed into a fresh venv,
run from another folder. An editable install hides packaging defects (data folders found
in the source tree), so this is the only test that sees the product as shipped.

The fresh venv has no pip and no packages of its own; its dependencies (numpy, onnx, ...)
come from this interpreter's site-packages through a path entry, which does not run that
folder's .pth files, so the editable install of the checkout stays invisible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_SKIP_DIRS = {".git", ".venv", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}

pytestmark = pytest.mark.wheel


def _copy_source(dst: Path) -> None:
    """The checkout without virtual environments and build outputs (the build writes
    build/ and *.egg-info next to its sources: never into the repository)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _SKIP_DIRS or n.endswith(".egg-info") or n == ".hypothesis"}

    shutil.copytree(ROOT, dst, ignore=ignore)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    src, wheels, venv = base / "src", base / "wheels", base / "venv"
    _copy_source(src)
    run = dict(capture_output=True, text=True, timeout=300)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src)], **run)
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = wheels.glob("costmodel-*.whl")
    r = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], **run)
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)], **run
    )
    assert r.returncode == 0, r.stderr[-3000:]
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], **run
    ).stdout.strip()
    Path(purelib, "_deps_from_test_runner.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _cli(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [str(venv / "bin" / "costmodel"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    r = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import costmodel, costmodel_cli; print(costmodel.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    where = Path(r.stdout.strip())
    assert installed in where.parents and ROOT not in where.parents
    assert (where.parent / "py.typed").is_file()


def test_every_command_runs_from_another_folder(installed: Path, tmp_path: Path) -> None:
    r = _cli(installed, tmp_path, "specs", "--format", "json")
    assert r.returncode == 0, r.stderr
    shipped = sorted(p.stem for p in (ROOT / "model_specs").glob("*.yaml"))
    listed = json.loads(r.stdout)
    names = sorted(s["name"] for s in listed) if isinstance(listed, list) else sorted(listed)
    assert names == shipped and len(shipped) > 20
    r = _cli(installed, tmp_path, "specs")
    assert r.returncode == 0 and "llama-3-8b" in r.stdout, r.stderr
    commands = [
        ["llm", "llama-3-8b", "--hardware", "h100"],
        ["train", "gpt-2", "--hardware", "h100", "--gpus", "1", "--batch", "8", "--seq-len", "1024"],
        ["plan", "train", "gpt-2", "--hardware", "h100", "--gpus", "1,2", "--batch", "8", "--seq-len", "1024"]
        + ["--tokens", "1e9"],
        ["train", "gpt-2", "--hardware", "dgx-h100", "--gpus", "8", "--batch", "64", "--seq-len", "1024"],
        ["hardware", "show", "dgx-h100"],
        ["hardware", "list"],
        ["analyze", "--example", "resnet50"],
    ]
    for args in commands:
        r = _cli(installed, tmp_path, *args)
        assert r.returncode == 0, (args, r.stderr[-2000:])
        assert r.stdout.strip(), args
    r = _cli(installed, tmp_path, "hardware", "show", "dgx-h100", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["devices_per_node"] == 8


def test_the_wheel_predicts_with_the_fitted_device_model(installed: Path, tmp_path: Path) -> None:
    """hardware_profiles/device-model.json travels in the wheel: without it the engine would
    fall back to the model's priors and predict a different time than the checkout."""
    import costmodel

    r = _cli(installed, tmp_path, "analyze", "--example", "resnet50", "--hardware", "h100", "--format", "json")
    assert r.returncode == 0, r.stderr[-2000:]
    here = costmodel.analyze(str(ROOT / "costmodel" / "examples" / "resnet50.onnx"), hardware="h100").latency_s
    assert json.loads(r.stdout)["latency_s"] == pytest.approx(here, rel=1e-9)
