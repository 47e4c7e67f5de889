"""Export a 48-layer GPT-2 (GPT-2 small width, 48 blocks, random init) to ONNX for the
speed benchmarks: opset 17, dynamic axes `batch` and `seq` on `input_ids`, weights stored
externally and then the weight file deleted (costmodel must not need it).

By default a hand-written GPT-2 block stack (GPT-2's layer layout: pre-LN attention with
a causal mask, tanh-GELU MLP, tied LM head). `--transformers` uses transformers'
GPT2LMHeadModel(GPT2Config(n_layer=48)) instead; transformers 5.x does not export with
the TorchScript exporter (its mask code uses aten::diff), so the script then falls back
to the hand-written stack. Needs torch
(not a costmodel dependency); runs on the CPU:
    python benchmarks/export_gpt2.py OUTDIR [--layers 48]
Writes OUTDIR/gpt2_48l.onnx (never committed: regenerate it).
"""

from __future__ import annotations

import argparse
import os
import sys


def _hand_written(n_layer: int, d: int = 768, heads: int = 12, vocab: int = 50257, ctx: int = 1024):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.ln_2 = nn.LayerNorm(d)
            self.fc = nn.Linear(d, 4 * d)
            self.proj = nn.Linear(4 * d, d)

        def forward(self, x):
            b, s, _ = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
            q, k, v = (t.view(b, s, heads, d // heads).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / (d // heads) ** 0.5
            mask = torch.ones(s, s, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(b, s, d)
            x = x + self.c_proj(y)
            return x + self.proj(nn.functional.gelu(self.fc(self.ln_2(x)), approximate="tanh"))

    class GPT2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(ctx, d)
            self.h = nn.ModuleList(Block() for _ in range(n_layer))
            self.ln_f = nn.LayerNorm(d)

        def forward(self, input_ids):
            pos = torch.arange(input_ids.shape[1], device=input_ids.device)
            x = self.wte(input_ids) + self.wpe(pos)
            for blk in self.h:
                x = blk(x)
            return self.ln_f(x) @ self.wte.weight.t()

    return GPT2().eval(), "hand-written GPT-2 block stack"


def _model(n_layer: int):
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError:
        return _hand_written(n_layer)
    import transformers

    cfg = GPT2Config(n_layer=n_layer, use_cache=False, attn_implementation="eager")
    model = GPT2LMHeadModel(cfg).eval()

    class Logits(__import__("torch").nn.Module):  # a plain tensor output for the exporter
        def __init__(self, m) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            return self.m(input_ids=input_ids, use_cache=False, return_dict=False)[0]

    return Logits(model), f"transformers {transformers.__version__} GPT2LMHeadModel"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--layers", type=int, default=48)
    ap.add_argument("--transformers", action="store_true", help="try transformers' GPT2LMHeadModel first")
    a = ap.parse_args(argv)
    import torch

    os.makedirs(a.outdir, exist_ok=True)
    name = f"gpt2_{a.layers}l"
    path = os.path.join(a.outdir, f"{name}.onnx")
    model, what = _model(a.layers) if a.transformers else _hand_written(a.layers)
    ids = torch.randint(0, 50257, (1, 128))
    with torch.no_grad():
        try:
            torch.onnx.export(
                model,
                (ids,),
                path,
                opset_version=17,
                input_names=["input_ids"],
                output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
                dynamo=False,
                external_data=True,
            )
        except Exception as e:  # a transformers version the TorchScript exporter cannot trace
            if not a.transformers:
                raise
            first = (str(e).splitlines() or [""])[0]
            print(f"{what} did not export ({type(e).__name__}: {first}); using the hand-written stack", flush=True)
            model, what = _hand_written(a.layers)
            torch.onnx.export(
                model,
                (ids,),
                path,
                opset_version=17,
                input_names=["input_ids"],
                output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
                dynamo=False,
                external_data=True,
            )
    import onnx

    # The exporter embeds weights below 2 GiB: move them to one external file, then delete it.
    m = onnx.load(path)
    data = f"{name}.onnx.data"
    onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)
    m = onnx.load(path, load_external_data=False)
    referenced = {e.value for t in m.graph.initializer for e in t.external_data if e.key == "location"}
    for f in referenced | {data}:  # the weights: deleted, costmodel must not need them
        full = os.path.join(a.outdir, f)
        if os.path.isfile(full):
            os.remove(full)
    print(f"{path}: {len(m.graph.node)} nodes, from {what}, torch {torch.__version__}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
