"""The one safe reader of YAML / TOML / JSON data files."""

from __future__ import annotations

import pytest

from costmodel.datafile import MAX_YAML_NODES, read_data_file
from costmodel.errors import HardwareError, SpecError

BOMB = (
    "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_plain_data_in_all_three_formats(tmp_path):
    want = {"a": 1, "b": [1.5, "x"], "c": {"d": True}}
    assert read_data_file(write(tmp_path, "x.yaml", "a: 1\nb: [1.5, x]\nc: {d: true}\n")) == want
    assert read_data_file(write(tmp_path, "x.toml", 'a = 1\nb = [1.5, "x"]\n[c]\nd = true\n')) == want
    assert read_data_file(write(tmp_path, "x.json", '{"a": 1, "b": [1.5, "x"], "c": {"d": true}}')) == want


def test_alias_bomb_refused_without_expanding(tmp_path):
    # 9^6 = 531,441 values once expanded, above the bound
    assert 9**6 > MAX_YAML_NODES
    with pytest.raises(SpecError, match="alias bomb") as e:
        read_data_file(write(tmp_path, "bomb.yaml", BOMB), error=SpecError)
    assert "bomb.yaml" in str(e.value)


@pytest.mark.parametrize(
    "name,text,match",
    [
        ("evil.yaml", "name: !!python/object/apply:os.system ['echo hacked']\n", "invalid YAML.*not allowed"),
        ("inf.yaml", "x: .inf\n", "not a finite number"),
        ("nan.yaml", "a: {b: [1, .nan]}\n", r"a\.b\[1\]: nan is not a finite number"),
        ("ctl.yaml", "name: \x1f\n", "invalid YAML: unacceptable character"),  # PyYAML's reader refuses it
        ("nan.json", '{"x": NaN}', "invalid JSON"),
        ("bad.toml", "x = = 1", "invalid TOML"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "invalid JSON"),
        ("x.ini", "x=1", "unsupported file type"),
    ],
)
def test_refused_inputs_name_the_file(tmp_path, name, text, match):
    path = write(tmp_path, name, text)
    with pytest.raises(HardwareError, match=match) as e:
        read_data_file(path, error=HardwareError)
    assert str(e.value).startswith(path)


def test_size_missing_folder_and_encoding(tmp_path):
    with pytest.raises(SpecError, match="larger than the limit of 10 bytes"):
        read_data_file(write(tmp_path, "big.json", "[" + "1," * 20 + "1]"), error=SpecError, max_bytes=10)
    with pytest.raises(SpecError, match="no such file"):
        read_data_file(str(tmp_path / "none.yaml"), error=SpecError)
    with pytest.raises(SpecError, match="is a directory"):
        read_data_file(str(tmp_path), error=SpecError, fmt="yaml")
    p = tmp_path / "latin.yaml"
    p.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError, match="not UTF-8"):
        read_data_file(str(p), error=SpecError)
