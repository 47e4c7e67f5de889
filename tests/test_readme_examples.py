"""Every `costmodel` command in the README's bash blocks runs (exit 0) as written, with
placeholder inputs swapped for real ones: `model.onnx` / `vit_b_16.onnx` -> the bundled
ResNet-50 graph (with its batch dim left free where the command binds it), `path/to/config.json` -> a small Llama config, output files -> a temp
folder. Commands that need a user's package (`--torch mypkg...`) or write into the
user's home (shell completion files) are checked for what they can be: the completion
script is printed, the `--torch` form is refused with exit 2 (no such module)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex

import numpy as np
import pytest

from costmodel_cli.analyze import example_path
from costmodel_cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(r"```bash\n(.*?)```", re.S)

# Llama-architecture config small enough to plan in milliseconds (the shape of a
# transformers LlamaConfig; values are arbitrary but consistent)
TINY_LLAMA = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 512,
    "intermediate_size": 1376,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 8,
    "vocab_size": 32000,
    "max_position_embeddings": 2048,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
}


def readme_commands() -> list[str]:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    out = []
    for body in BLOCK.findall(text):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("costmodel "):
                out.append(" ".join(line.split()))
    return out


def test_the_readme_shows_every_main_command():
    verbs = {shlex.split(c)[1] for c in readme_commands()}
    assert {"analyze", "llm", "train", "plan", "compare", "scale", "rerank", "diffusion", "memory"} <= verbs
    assert len(readme_commands()) >= 25


def _dynamic_resnet(tmp: str) -> str:
    """The bundled ResNet-50 with its batch dim left free (`batch`), as exports with
    dynamic axes are: the README's `--set batch=8` binds it."""
    import onnx

    m = onnx.load(example_path("resnet50"))
    for v in (*m.graph.input, *m.graph.output):
        v.type.tensor_type.shape.dim[0].dim_param = "batch"
    del m.graph.value_info[:]
    (flatten,) = [n for n in m.graph.node if n.op_type == "Reshape"]
    for t in m.graph.initializer:  # the classifier's Reshape to (1, 2048) -> (-1, 2048)
        if t.name == flatten.input[1]:
            t.CopyFrom(onnx.numpy_helper.from_array(np.array([-1, 2048], np.int64), t.name))
    path = os.path.join(tmp, "model.onnx")
    onnx.save(m, path)
    return path


def _argv(line: str, tmp: str) -> list[str]:
    argv = shlex.split(line)[1:]
    # a model with a free batch dim where the command binds it, else the fixed-shape graph
    # (time on a device needs every dim bound: that is an error naming the symbol)
    model = _dynamic_resnet(tmp) if "--set" in argv else example_path("resnet50")
    config = os.path.join(tmp, "config.json")
    with open(config, "w", encoding="utf-8") as f:
        json.dump(TINY_LLAMA, f)
    swap = {"model.onnx": model, "vit_b_16.onnx": model, "path/to/config.json": config}
    argv = [swap.get(a, a) for a in argv]
    for flag in ("-o", "--output", "--plot"):
        if flag in argv:
            i = argv.index(flag) + 1
            argv[i] = os.path.join(tmp, os.path.basename(argv[i]))
    if ">" in argv:  # a shell redirection: the command prints to stdout here
        argv = argv[: argv.index(">")]
    return argv


@pytest.mark.parametrize("line", readme_commands(), ids=[c[10:70] for c in readme_commands()])
def test_readme_command_runs(line, tmp_path):
    argv = _argv(line, str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    if "--torch" in argv and argv[argv.index("--torch") + 1].startswith("mypkg."):
        # the user's own package: here it does not exist, which is bad input (exit 2, one line)
        assert rc == 2 and "mypkg" in err.getvalue() and err.getvalue().count("\n") == 1
        return
    assert rc == 0, err.getvalue()
    if argv[0] == "completion":
        assert "costmodel" in out.getvalue()
    for flag in ("-o", "--output", "--plot"):
        if flag in argv:
            written = argv[argv.index(flag) + 1]
            assert os.path.getsize(written) > 0, written
