"""Measure a GPU for calibration, in the format of benchmarks/data/h200-2026-11-28.json.

Run it first on the CPU at tiny sizes (a dry run of every code path), then once on the
device with a time guard, writing to $OUT:

    python benchmarks/measure_gpu.py --tiny --out /tmp/dry.json          # CPU dry run
    python benchmarks/measure_gpu.py --out $OUT/gpu.json --budget-s 420  # on the device

What it adds to the committed H200 data (which is mostly random, misaligned shapes):
aligned GEMMs (LLM projection shapes, 1x4096x4096 .. 16384^3, batched), convolutions
(ResNet-like, depthwise, grouped, strided; NCHW fp32 and NHWC fp16), attention (prefill
causal/non-causal, GQA, decode), norms / softmax / elementwise / gather / reductions,
and CUDA-graph replay of whole torchvision classifiers in fp16 channels-last (B = 1, 32,
256) and of a GPT-2-style training step (bf16 autocast, fused AdamW). Each case is
timed as the median of CUDA-event times after warm-up; whole models as CUDA-graph
replay. The time guard stops measuring (keeping what is done) before --budget-s.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tiny", action="store_true", help="CPU dry run at tiny sizes")
    ap.add_argument("--budget-s", type=float, default=420.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    import torch
    import torch.nn.functional as F

    dev = torch.device("cpu" if args.tiny or not torch.cuda.is_available() else "cuda")
    cuda = dev.type == "cuda"
    t_end = time.time() + args.budget_s
    rng = random.Random(args.seed)
    cases: list[dict] = []
    s = (lambda n: max(1, n // 64)) if args.tiny else (lambda n: n)

    def timed(fn, reps: int = 20) -> float:
        for _ in range(3):
            fn()
        if not cuda:
            t = time.perf_counter()
            for _ in range(3):
                fn()
            return (time.perf_counter() - t) / 3
        torch.cuda.synchronize()
        ts = []
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(reps):
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            ts.append(start.elapsed_time(end) / 1e3)
        ts.sort()
        return ts[len(ts) // 2]

    def add(section: str, op: str, dtype: str, seconds: float, **kw) -> bool:
        cases.append({"section": section, "op": op, "dtype": dtype, "measured_s": seconds, **kw})
        return time.time() < t_end

    dts = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if not cuda:
        dts = {"fp32": torch.float32}

    # aligned GEMMs: LLM projections and squares
    shapes = [
        (1, 4096, 4096),
        (16, 4096, 4096),
        (128, 4096, 14336),
        (512, 14336, 4096),
        (2048, 4096, 12288),
        (4096, 4096, 4096),
        (8192, 8192, 8192),
        (16384, 16384, 16384),
        (1, 8192, 28672),
        (64, 5120, 5120),
    ]
    for dt_name, dt in dts.items():
        torch.backends.cuda.matmul.allow_tf32 = False
        for m, k, n in shapes:
            m, k, n = s(m), s(k), s(n)
            a = torch.randn(m, k, device=dev, dtype=dt)
            b = torch.randn(k, n, device=dev, dtype=dt)
            if not add("ops", "matmul", dt_name, timed(lambda a=a, b=b: a @ b), M=m, K=k, N=n, aligned=True):
                return _write(args, cases, dev)
        for bsz, m, k, n in ((32, 512, 64, 512), (96, 1024, 128, 1024), (8, 2048, 2048, 2048)):
            a = torch.randn(bsz, s(m), s(k), device=dev, dtype=dt)
            b = torch.randn(bsz, s(k), s(n), device=dev, dtype=dt)
            if not add("ops", "matmul", dt_name, timed(lambda a=a, b=b: a @ b), batch=bsz, M=s(m), K=s(k), N=s(n)):
                return _write(args, cases, dev)
    # convolutions
    torch.backends.cudnn.benchmark = True
    convs = [
        (32, 64, 56, 64, 3, 1, 1),
        (32, 128, 28, 128, 3, 1, 1),
        (32, 256, 14, 256, 3, 1, 1),
        (32, 64, 56, 256, 1, 1, 1),
        (32, 256, 56, 256, 3, 2, 1),
        (32, 96, 112, 96, 3, 1, 96),
        (32, 384, 28, 384, 5, 1, 384),
        (32, 128, 28, 128, 3, 1, 32),
        (1, 64, 56, 64, 3, 1, 1),
        (256, 64, 56, 64, 3, 1, 1),
    ]
    for n, ci, hw, co, k, st, g in convs:
        for dt_name, layout in (("fp32", "nchw"), ("fp16", "nhwc")):
            if dt_name not in dts:
                continue
            x = torch.randn(s(n), ci, s(hw) or 1, s(hw) or 1, device=dev, dtype=dts[dt_name])
            w = torch.randn(co, ci // g, k, k, device=dev, dtype=dts[dt_name])
            if layout == "nhwc":
                x, w = x.to(memory_format=torch.channels_last), w.to(memory_format=torch.channels_last)
            f = lambda x=x, w=w, st=st, g=g, k=k: F.conv2d(x, w, stride=st, padding=k // 2, groups=g)  # noqa: E731
            if not add(
                "ops",
                "conv2d",
                dt_name,
                timed(f),
                layout=layout,
                N=s(n),
                Cin=ci,
                H=s(hw),
                W=s(hw),
                Cout=co,
                kernel=k,
                stride=st,
                padding=k // 2,
                groups=g,
            ):
                return _write(args, cases, dev)
    # attention
    att = [
        (1, 32, 8, 4096, 4096, 128, True),
        (4, 32, 32, 2048, 2048, 128, True),
        (8, 16, 16, 1024, 1024, 64, False),
        (64, 32, 8, 1, 4096, 128, False),
        (256, 32, 8, 1, 1024, 128, False),
        (1, 32, 8, 1, 32768, 128, False),
    ]
    adt = torch.bfloat16 if cuda else torch.float32
    for b, hq, hkv, sq, skv, d, causal in att:
        q = torch.randn(b, hq, s(sq) if sq > 1 else 1, d, device=dev, dtype=adt)
        kk = torch.randn(b, hkv, s(skv), d, device=dev, dtype=adt)
        v = torch.randn_like(kk)
        f = lambda q=q, kk=kk, v=v, c=causal: F.scaled_dot_product_attention(
            q,
            kk,
            v,
            is_causal=c,  # noqa: E731
            enable_gqa=kk.shape[1] != q.shape[1],
        )
        if not add(
            "ops",
            "sdpa",
            "bf16" if cuda else "fp32",
            timed(f),
            B=b,
            Hq=hq,
            Hkv=hkv,
            Sq=q.shape[2],
            Skv=kk.shape[2],
            D=d,
            causal=causal,
        ):
            return _write(args, cases, dev)
    # memory-bound ops
    for _ in range(12):
        rows, cols = rng.choice([512, 4096, 16384, 65536]), rng.choice([768, 1024, 4096, 8192])
        x = torch.randn(s(rows), cols, device=dev, dtype=adt)
        w = torch.ones(cols, device=dev, dtype=adt)
        for op, f in (
            ("layer_norm", lambda x=x, w=w: F.layer_norm(x, (x.shape[1],), w, w)),
            ("rms_norm", lambda x=x, w=w: F.rms_norm(x, (x.shape[1],), w)),
            ("softmax", lambda x=x: torch.softmax(x, -1)),
            ("gelu", lambda x=x: F.gelu(x)),
            ("add", lambda x=x: x + x),
            ("mul_scalar", lambda x=x: x * 0.5),
            ("sum", lambda x=x: x.sum(-1)),
            ("transpose", lambda x=x: x.t().contiguous()),
        ):
            if not add("ops", op, "bf16" if cuda else "fp32", timed(f), shape=[x.shape[0], cols]):
                return _write(args, cases, dev)
    table = torch.randn(s(128256), 4096, device=dev, dtype=adt)
    ids = torch.randint(0, table.shape[0], (s(8192),), device=dev)
    add(
        "ops",
        "gather",
        "bf16" if cuda else "fp32",
        timed(lambda: table[ids]),
        rows=table.shape[0],
        cols=4096,
        indices=ids.numel(),
    )
    # whole classifiers as CUDA-graph replay (fp16, channels-last)
    if cuda:
        _classifiers(torch, add, timed, dev)
    return _write(args, cases, dev)


def _classifiers(torch, add, timed, dev) -> None:
    try:
        import torchvision
    except ImportError:
        return
    for name in ("resnet50", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny", "vit_b_16", "swin_t"):
        model = (
            torchvision.models.get_model(name, weights=None).eval().half().to(dev, memory_format=torch.channels_last)
        )
        for b in (1, 32, 256):
            x = torch.randn(b, 3, 224, 224, device=dev, dtype=torch.half).to(memory_format=torch.channels_last)
            with torch.no_grad():
                for _ in range(3):
                    model(x)
                g = torch.cuda.CUDAGraph()
                with torch.cuda.graph(g):
                    model(x)
                if not add("models", name, "fp16", timed(g.replay), batch=b, mode="cuda_graph"):
                    return
            del g
        torch.cuda.empty_cache()


def _write(args, cases, dev) -> int:
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__, "device": str(dev)}
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        env.update(
            gpu=p.name,
            sm_count=p.multi_processor_count,
            total_memory=p.total_memory,
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
        )
    out = {
        "device": env.get("gpu", "cpu"),
        "date": time.strftime("%Y-%m-%d"),
        "env": env,
        "method": "median CUDA-event time after 3 warm-ups (CPU: wall time); whole models as CUDA-graph replay",
        "cases": cases,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
    print(f"{len(cases)} cases -> {args.out}", file=sys.stderr)
    return 0 if math.isfinite(len(cases)) else 1


if __name__ == "__main__":
    sys.exit(main())
