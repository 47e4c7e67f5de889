"""Bundled data found in every install mode (costmodel/resources.py) and systems listed,
shown and loaded from user files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from costmodel.errors import HardwareError
from costmodel.hardware.systems import find_system, get_system, list_systems, system_names
from costmodel.resources import _folders, data_dir
from costmodel_cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = [
    "aws-p4d",
    "aws-p5",
    "dgx-a100-40gb",
    "dgx-a100-80gb",
    "dgx-h100",
    "frontier",
    "h800-node",
    "hgx-h200",
    "mi300x-node",
    "tpu-v5p-slice",
]


def cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_namespace_data_package_resolves_to_its_real_folder(tmp_path, monkeypatch):
    """A wheel installs costmodel/data/<name>/ without __init__.py: importlib.resources
    answers with a MultiplexedPath, whose str() is not a path. _folders must see through it."""
    pkg = tmp_path / "i18_ns_probe" / "specs"
    pkg.mkdir(parents=True)
    (pkg / "a.yaml").write_text("x: 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from importlib import resources

    assert not isinstance(resources.files("i18_ns_probe.specs"), Path)  # the case being tested
    assert _folders("i18_ns_probe.specs") == [pkg]
    assert _folders("i18_ns_probe_missing.specs") == []
    sys.modules.pop("i18_ns_probe.specs", None)
    sys.modules.pop("i18_ns_probe", None)


def test_data_dirs_hold_the_shipped_files():
    specs = data_dir("model_specs")
    assert sorted(p.name for p in specs.glob("*.yaml")) == sorted(p.name for p in (ROOT / "model_specs").glob("*.yaml"))
    assert (data_dir("hardware_profiles") / "systems" / "dgx-h100.toml").is_file()
    with pytest.raises(ValueError):
        data_dir("nothing")


def test_every_builtin_system_loads():
    assert system_names() == SYSTEMS
    systems = {s.name: s for s in list_systems()}
    dgx = systems["dgx-h100"]
    assert dgx.device.name == "h100-sxm5-80gb" and dgx.devices_per_node == 8
    # dgx-h100.toml: 450 GB/s NVLink per direction, 50 GB/s (400 Gb/s) NIC per GPU
    assert dgx.intra.bandwidth == 450e9 and dgx.inter.bandwidth == 50e9
    assert dgx.intra.latency_s == pytest.approx(4e-6)
    d = dgx.to_dict()
    assert d["kind"] == "system" and d["device_profile"]["name"] == "h100-sxm5-80gb"
    assert d["peak_flops"]["bf16"] == 989.5e12  # per device, the H100 SXM dense bf16 peak


def test_hardware_list_has_a_systems_section(capsys):
    rc, out, err = cli(capsys, "hardware", "list")
    assert rc == 0, err
    _, _, tail = out.partition("systems")
    assert tail and all(s in tail for s in SYSTEMS)
    rc, out, _ = cli(capsys, "hardware", "list", "--format", "json")
    rows = json.loads(out)
    assert [r["name"] for r in rows if r["kind"] == "system"] == SYSTEMS
    assert all("peak_flops" in r and "memory_bandwidth" in r for r in rows)


@pytest.mark.parametrize("name", SYSTEMS)
def test_hardware_show_every_system(capsys, name):
    rc, out, err = cli(capsys, "hardware", "show", name, "--format", "json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["name"] == name and d["devices_per_node"] > 0
    assert d["intra_node"]["bandwidth_per_direction_per_device"] > 0
    rc, out, err = cli(capsys, "hardware", "show", name.upper())
    assert rc == 0 and "per node" in out, err


def _write_system(folder: Path, **over: str) -> Path:
    body = {
        "name": '"my-node"',
        "device": '"h100"',
        "devices_per_node": "4",
    }
    body.update(over)
    lines = [f"{k} = {v}" for k, v in body.items() if v is not None]
    lines += ["[intra_node]", "bandwidth_per_direction_GBps = 300", "latency_us = 3"]
    lines += ["[inter_node]", "bandwidth_per_direction_per_device_GBps = 25", "latency_us = 9"]
    p = folder / "my-node.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_a_custom_system_file(tmp_path, capsys):
    p = _write_system(tmp_path)
    s = get_system(str(p))
    assert (s.name, s.devices_per_node, s.intra.bandwidth, s.inter.bandwidth) == ("my-node", 4, 300e9, 25e9)
    assert s.inter.latency_s == pytest.approx(9e-6)
    rc, out, err = cli(capsys, "hardware", "show", str(p), "--format", "json")
    assert rc == 0 and json.loads(out)["devices_per_node"] == 4, err


def test_a_custom_system_names_a_device_file_beside_it(tmp_path):
    dev = (ROOT / "hardware_profiles" / "l4.toml").read_text()
    (tmp_path / "gpu.toml").write_text(dev)
    p = _write_system(tmp_path, device='"gpu.toml"')
    assert find_system(str(p)).device.name == "l4"


@pytest.mark.parametrize(
    "over, words",
    [
        ({"device": None}, "device must name"),
        ({"devices_per_node": "2.5"}, "positive integer"),
        ({"devices_per_node": "0"}, "positive integer"),
        ({"gpus": "8"}, "unknown keys"),
        ({"device": '"no-such-gpu"'}, "unknown hardware"),
    ],
)
def test_bad_system_files_are_hardware_errors(tmp_path, over, words):
    p = _write_system(tmp_path, **over)
    with pytest.raises(HardwareError, match=words):
        get_system(str(p))


def test_a_bad_system_file_is_exit_2_on_the_cli(tmp_path, capsys):
    p = _write_system(tmp_path, devices_per_node='"eight"')
    rc, _, err = cli(capsys, "hardware", "show", str(p))
    assert rc == 2 and err.startswith("costmodel: error:") and "devices_per_node" in err
