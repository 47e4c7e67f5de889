"""Config files for defaults (user, [tool.costmodel], costmodel.toml; flags win), shell
completion scripts, 'did you mean' for commands/options/keys, and short, precise errors
for --set and ops --domain."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from costmodel_cli.main import main


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A working directory with no user config (XDG_CONFIG_HOME points to an empty dir)."""
    home = tmp_path / "xdg"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.chdir(work)
    return work, home


def cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _decode(capsys, *argv) -> dict:
    rc, out, err = cli(capsys, "llm", "llama-3-8b", "--format", "json", *argv)
    assert rc == 0, err
    return json.loads(out)


def test_costmodel_toml_gives_defaults_and_flags_win(project, capsys):
    work, _ = project
    (work / "costmodel.toml").write_text('hardware = "h200"\n[prices]\nh200 = 3.5\n')
    configured = _decode(capsys)  # llm's --hardware is required: the config supplies it
    explicit = _decode(capsys, "--hardware", "h200", "--price-per-hour", "3.5")
    assert configured == explicit
    assert configured["cost"]["price_per_device_hour"] == 3.5
    other = _decode(capsys, "--hardware", "h100")  # a flag wins; no price for h100 configured
    assert other["decode"]["latency_s"] != configured["decode"]["latency_s"]
    assert not (other.get("cost") or {}).get("price_per_device_hour")


def test_prices_match_a_profile_name_or_alias(project, capsys):
    work, _ = project
    (work / "costmodel.toml").write_text('[prices]\n"h100-sxm5-80gb" = 2.0\n')
    assert _decode(capsys, "--hardware", "h100")["cost"]["price_per_device_hour"] == 2.0


def test_file_order_user_then_pyproject_then_costmodel_toml(project, capsys):
    work, home = project
    (home / "costmodel").mkdir()
    (home / "costmodel" / "config.toml").write_text('hardware = "a100"\ndtype = "fp16"\nmode = "ideal"\n')
    (work / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.costmodel]\nhardware = "h100"\n')
    (work / "costmodel.toml").write_text('dtype = "bf16"\n')
    rc, out, err = cli(capsys, "config", "show", "--format", "json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["values"] == {"hardware": "h100", "dtype": "bf16", "mode": "ideal"}
    assert d["origin"]["hardware"].endswith("pyproject.toml [tool.costmodel]")
    assert d["origin"]["mode"].endswith("config.toml") and len(d["files_read"]) == 3
    rc, out, _ = cli(capsys, "config", "show")
    assert rc == 0 and "h100" in out and "[tool.costmodel]" in out


def test_config_defaults_reach_analyze(project, capsys):
    work, _ = project
    (work / "costmodel.toml").write_text('hardware = "h100"\ndtype = "fp16"\nmode = "ideal"\n')
    rc, out, err = cli(capsys, "analyze", "--example", "resnet50", "--format", "json")
    assert rc == 0, err
    configured = json.loads(out)
    (work / "costmodel.toml").unlink()
    rc, out, _ = cli(
        capsys, "analyze", "--example", "resnet50", "--format", "json", "--hardware", "h100", "--dtype", "fp16"
    )
    rc2, out2, _ = cli(
        capsys,
        "analyze",
        "--example",
        "resnet50",
        "--format",
        "json",
        "--hardware",
        "h100",
        "--dtype",
        "fp16",
        "--mode",
        "ideal",
    )
    assert rc == rc2 == 0
    assert json.loads(out2)["latency_s"] == configured["latency_s"] != json.loads(out)["latency_s"]


@pytest.mark.parametrize(
    "text, words",
    [
        ('hardwre = "h100"\n', "did you mean hardware"),
        ('mode = "idael"\n', "did you mean ideal"),
        ("hardware = 3\n", "hardware must be a non-empty string"),
        ('[prices]\nh100 = "cheap"\n', "prices.h100 must be a positive number"),
        ("hardware = [\n", "invalid TOML"),
    ],
)
def test_bad_config_is_exit_2_naming_file_and_key(project, capsys, text, words):
    work, _ = project
    (work / "costmodel.toml").write_text(text)
    rc, _, err = cli(capsys, "specs")
    assert rc == 2 and err.startswith("costmodel: error:") and "costmodel.toml" in err and words in err
    assert err.count("\n") == 1


def test_no_config_is_no_change(project, capsys):
    rc, out, _ = cli(capsys, "config", "show", "--format", "json")
    assert rc == 0 and json.loads(out)["values"] == {}
    rc, _, err = cli(capsys, "llm", "llama-3-8b")  # --hardware stays required
    assert rc == 2 and "--hardware" in err


# -- did you mean ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, hint",
    [
        (["analyz"], "did you mean analyze?"),
        (["hardware", "lst"], "did you mean list?"),
        (["analyze", "--example", "resnet50", "--format", "jsn"], "did you mean json?"),
        (["analyze", "--example", "resnet50", "--hardwre", "h100"], "did you mean --hardware?"),
    ],
)
def test_did_you_mean_for_commands_choices_and_options(capsys, argv, hint):
    rc, _, err = cli(capsys, *argv)
    assert rc == 2 and hint in err and err.count("\n") == 1


def test_set_on_a_model_without_that_symbol_is_an_error(capsys):
    rc, _, err = cli(capsys, "analyze", "--example", "resnet50", "--set", "batch=2")
    assert rc == 2 and "'batch'" in err and "no symbolic dims" in err


def test_unknown_symbol_error_is_short_with_many_symbols():
    from costmodel.errors import BindingError, name_list
    from costmodel.ir.graph import Graph

    assert name_list([f"s{i:03d}" for i in range(300)]) == ", ".join(f"s{i:03d}" for i in range(12)) + " and 288 more"
    assert name_list([]) == "none"
    import costmodel
    from tests.helpers import one_op

    m = one_op("Concat", [[f"d{i}", 4] for i in range(40)], axis=0)
    with pytest.raises(BindingError) as e:
        costmodel.analyze(m, bindings={"d_nope": 3})
    msg = str(e.value)
    assert "and 28 more" in msg and len(msg) < 300
    assert Graph  # the IR is importable without the CLI


def test_ops_unknown_domain_is_exit_2_with_the_known_domains(capsys):
    rc, _, err = cli(capsys, "ops", "--domain", "com.microsft")
    assert rc == 2 and "did you mean com.microsoft?" in err and "ai.onnx" in err
    rc, out, _ = cli(capsys, "ops", "--domain", "com.microsoft", "--format", "json")
    assert rc == 0 and json.loads(out)["ops"]


# -- completion -----------------------------------------------------------------------------


def _bash_complete(script: str, words: list[str]) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    prog = f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _costmodel; printf "%s\\n" "${{COMPREPLY[@]}}"'
    r = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completion(capsys):
    rc, script, _ = cli(capsys, "completion", "bash")
    assert rc == 0 and "complete -o default -F _costmodel costmodel" in script
    assert _bash_complete(script, ["costmodel", "ana"]) == ["analyze"]
    assert _bash_complete(script, ["costmodel", "hardware", "s"]) == ["show"]
    assert _bash_complete(script, ["costmodel", "plan", "train", "gpt-2", "--hard"]) == ["--hardware"]
    assert "h100-sxm5-80gb" in _bash_complete(script, ["costmodel", "llm", "x", "--hardware", "h100"])
    assert "dgx-h100" in _bash_complete(script, ["costmodel", "train", "x", "--hardware", "dgx"])
    assert _bash_complete(script, ["costmodel", "analyze", "m.onnx", "--format", "j"]) == ["json"]
    assert _bash_complete(script, ["costmodel", "batch", "--clu"]) == ["--cluster"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completion(capsys, tmp_path):
    rc, script, _ = cli(capsys, "completion", "fish")
    assert rc == 0
    path = tmp_path / "c.fish"
    path.write_text(script)
    r = subprocess.run(
        ["fish", "-c", f"source {path}; complete -C 'costmodel hardware '; complete -C 'costmodel train x --prec'"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    names = [line.split("\t")[0] for line in r.stdout.splitlines()]
    assert {"list", "show", "--precision"} <= set(names)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_parses_and_registers(capsys, tmp_path):
    rc, script, _ = cli(capsys, "completion", "zsh")
    assert rc == 0
    path = tmp_path / "c.zsh"
    path.write_text(script)
    r = subprocess.run(
        ["zsh", "-c", f"source {path}; echo ${{_comps[costmodel]}}"], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 0 and "_costmodel" in r.stdout, r.stderr


def test_completion_rejects_other_shells(capsys):
    rc, _, err = cli(capsys, "completion", "powershell")
    assert rc == 2 and "invalid choice" in err
