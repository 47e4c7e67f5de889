"""Measure single-GPU eager training steps of GPT-2 (PyTorch eager, bf16 autocast, AdamW)
in the format of benchmarks/data/h200-train-*.json.

Two implementations of the same model (the built-in `gpt-2` spec: Hugging Face's gpt2
config): Hugging Face's GPT2LMHeadModel with its default config (SDPA attention, dropout 0.1 on embeddings, attention and residuals, active in training; loss on fp32-upcast logits) and
a nanoGPT-style module (fused QKV Linear, F.scaled_dot_product_attention causal, tanh
GELU, tied embeddings, F.cross_entropy under autocast). AdamW as torch.optim ships it:
foreach (the default on CUDA), fused, and per-tensor (foreach=False); zero_grad with
set_to_none=True (the default).

Per case: step time as a training loop with a host sync per step sees it (median of
timed steps after 3 warm-ups), the same loop without per-step syncs (mean), the parts
(forward, backward, optimizer step, zero_grad, each synced), peak allocated memory over
the timed steps (torch.cuda.max_memory_allocated), memory allocated between steps, and
for some cases the kernel count and summed kernel time of one step (torch.profiler).

    python benchmarks/measure_train_gpu.py --tiny --out /tmp/dry.json   # CPU dry run
    python benchmarks/measure_train_gpu.py --out $OUT/train.json        # on the device
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--budget-s", type=float, default=300.0)
    args = ap.parse_args(argv)
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    cuda = torch.cuda.is_available() and not args.tiny
    dev = "cuda" if cuda else "cpu"
    t_end = time.time() + args.budget_s

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    class Block(nn.Module):
        def __init__(self, d: int, h: int) -> None:
            super().__init__()
            self.h = h
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.c_fc, self.c_fc_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, s, d = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
            q, k, v = (t.view(b, s, self.h, d // self.h).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, s, d))
            return x + self.c_fc_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class NanoGPT(nn.Module):
        def __init__(self, vocab: int, pos: int, d: int, layers: int, h: int) -> None:
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(pos, d)
            self.blocks = nn.ModuleList(Block(d, h) for _ in range(layers))
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx: torch.Tensor) -> torch.Tensor:
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
            for blk in self.blocks:
                x = blk(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.shape[-1]), idx.view(-1))

    sizes = {"gpt2": (768, 12, 12), "gpt2-medium": (1024, 24, 16), "gpt2-large": (1280, 36, 20)}

    def build(impl: str, size: str) -> tuple[nn.Module, object]:
        d, n, h = sizes[size]
        if args.tiny:
            d, n, h = 64, 2, 4
        if impl == "hf":
            from transformers import GPT2Config, GPT2LMHeadModel

            cfg = GPT2Config(n_embd=d, n_layer=n, n_head=h)
            cfg._attn_implementation = "sdpa"
            m = GPT2LMHeadModel(cfg).to(dev)
            return m, lambda x: m(input_ids=x, labels=x).loss
        m = NanoGPT(50257, 1024, d, n, h).to(dev)
        return m, m

    cases: list[dict] = []

    def case(impl: str, size: str, b: int, s: int, opt: str, prof: bool = False) -> None:
        if time.time() > t_end:
            return
        if args.tiny:
            b, s = min(b, 2), min(s, 32)
        torch.manual_seed(0)
        m, loss_of = build(impl, size)
        m.train()
        kw = {"foreach": {"foreach": True}, "fused": {"fused": True}, "per-tensor": {"foreach": False}}[opt]
        if not cuda and opt == "fused":
            kw = {}
        o = torch.optim.AdamW(m.parameters(), lr=1e-4, **kw)
        x = torch.randint(0, 50257, (b, s), device=dev)

        def fwd() -> torch.Tensor:
            with torch.autocast(dev, dtype=torch.bfloat16):
                return loss_of(x)

        def step() -> None:
            fwd().backward()
            o.step()
            o.zero_grad(set_to_none=True)

        for _ in range(3):
            step()
        sync()
        between = torch.cuda.memory_allocated() if cuda else 0
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        ts = []
        n = 3 if args.tiny else 12
        for _ in range(n):
            t = time.perf_counter()
            step()
            sync()
            ts.append(time.perf_counter() - t)
        peak = torch.cuda.max_memory_allocated() if cuda else 0
        parts: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": [], "zero_grad": []}
        for _ in range(2 if args.tiny else 6):
            t0 = time.perf_counter()
            loss = fwd()
            sync()
            t1 = time.perf_counter()
            loss.backward()
            sync()
            t2 = time.perf_counter()
            o.step()
            sync()
            t3 = time.perf_counter()
            o.zero_grad(set_to_none=True)
            sync()
            t4 = time.perf_counter()
            for k, a, z in (("forward", t0, t1), ("backward", t1, t2), ("optimizer", t2, t3), ("zero_grad", t3, t4)):
                parts[k].append(z - a)
        sync()
        t = time.perf_counter()
        for _ in range(n):
            step()
        sync()
        pipelined = (time.perf_counter() - t) / n
        row = {
            "impl": impl,
            "model": size,
            "batch": b,
            "seq_len": s,
            "optimizer": f"adamw-{opt}",
            "params": sum(p.numel() for p in m.parameters()),
            "step_s": statistics.median(ts),
            "step_s_min": min(ts),
            "step_s_pipelined": pipelined,
            "parts_s": {k: statistics.median(v) for k, v in parts.items()},
            "peak_memory_bytes": peak,
            "allocated_between_steps_bytes": between,
        }
        if prof and cuda:
            from torch.profiler import ProfilerActivity, profile

            with profile(activities=[ProfilerActivity.CUDA]) as p:
                step()
                sync()
            ks = [e for e in p.events() if e.device_type.name == "CUDA"]
            row["kernels_per_step"] = len(ks)
            row["kernel_time_s"] = sum(e.device_time_total for e in ks) / 1e6
        cases.append(row)
        if cuda:
            torch.cuda.empty_cache()

    plan = [
        ("hf", "gpt2", 8, 1024, "foreach", True),
        ("nano", "gpt2", 8, 1024, "foreach", True),
        ("hf", "gpt2", 1, 1024, "foreach", True),
        ("nano", "gpt2", 1, 1024, "foreach", False),
        ("hf", "gpt2", 4, 1024, "foreach", False),
        ("hf", "gpt2", 16, 1024, "foreach", False),
        ("hf", "gpt2", 32, 1024, "foreach", False),
        ("nano", "gpt2", 32, 1024, "foreach", False),
        ("hf", "gpt2", 16, 512, "foreach", False),
        ("hf", "gpt2", 64, 128, "foreach", False),
        ("hf", "gpt2", 8, 1024, "fused", True),
        ("nano", "gpt2", 8, 1024, "fused", False),
        ("hf", "gpt2", 1, 1024, "fused", False),
        ("hf", "gpt2", 8, 1024, "per-tensor", True),
        ("hf", "gpt2", 1, 1024, "per-tensor", False),
        ("hf", "gpt2-medium", 8, 1024, "foreach", False),
        ("hf", "gpt2-medium", 1, 1024, "foreach", False),
        ("hf", "gpt2-large", 4, 1024, "foreach", False),
    ]
    for c in plan:
        try:
            case(*c)
        except Exception as e:  # keep the other cases; say which failed and why
            cases.append({"case": list(c), "error": repr(e)[:300]})
        with open(args.out, "w") as f:
            json.dump(
                {
                    "device": torch.cuda.get_device_name() if cuda else "cpu",
                    "torch": torch.__version__,
                    "method": __doc__,
                    "cases": cases,
                },
                f,
                indent=1,
                allow_nan=False,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
