"""Time torchvision classifiers on a GPU as CUDA-graph replays, and list the kernels
PyTorch launches for a few of them: the data of benchmarks/data/h200-torchvision-*.json.

    python benchmarks/measure_torchvision.py BUDGET_S     # writes $OUT/tv.json

Needs torch + torchvision on a CUDA machine (not costmodel dependencies). The 2026-12-04
file was made by a compacted copy of this script (same steps, same order) run once on
one H200 with a 255 s budget; benchmarks/validate_torchvision.py turns it into
predicted-vs-measured tables. The raw output keeps dtype names as torch prints them;
the committed file renames them (fp16, fp32) and adds the method text.
"""

from __future__ import annotations

import json
import os
import sys
import time

MODELS = (
    "vit_b_16 swin_t convnext_tiny resnet50 vit_b_32 vit_l_16 swin_s swin_v2_t convnext_small convnext_base "
    "maxvit_t efficientnet_b0 mobilenet_v3_large resnet18 resnet101 densenet121 regnet_y_400mf efficientnet_v2_s "
    "mobilenet_v2 resnext50_32x4d wide_resnet50_2 inception_v3 googlenet shufflenet_v2_x1_0 squeezenet1_1 "
    "mnasnet1_0 alexnet vgg16 resnet34 mobilenet_v3_small regnet_x_1_6gf swin_b efficientnet_b3 vit_l_32 "
    "convnext_large vgg11_bn"
).split()


def main(argv: list[str]) -> int:
    import torch
    import torchvision

    out = os.environ.get("OUT", ".")
    deadline = time.time() + float(argv[0])
    torch.backends.cudnn.benchmark = True
    result: dict = {"env": [torch.__version__, torch.version.cuda, torch.backends.cudnn.version()], "t": [], "p": {}}
    cache: dict = {}

    def save() -> None:
        with open(os.path.join(out, "tv.json"), "w") as f:
            json.dump(result, f, allow_nan=False)

    def size(name: str) -> int:
        return 299 if name == "inception_v3" else 224

    def make(name: str, batch: int, dtype, channels_last: bool):
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        key = (name, dtype, channels_last)
        if key not in cache:
            cache.clear()
            torch.cuda.empty_cache()
            with torch.device("cuda"):
                cache[key] = torchvision.models.get_model(name).eval().to(dtype).to(memory_format=fmt)
        x = torch.randn(batch, 3, size(name), size(name), device="cuda", dtype=dtype).to(memory_format=fmt)
        return cache[key], x

    def timed(model, x) -> list[float]:
        for _ in range(3):
            model(x)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            model(x)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        rounds = []
        for _ in range(4):
            start.record()
            g.replay()
            end.record()
            end.synchronize()
            reps = max(1, min(200, int(30 / start.elapsed_time(end))))
            start.record()
            for _ in range(reps):
                g.replay()
            end.record()
            end.synchronize()
            rounds.append(start.elapsed_time(end) / 1e3 / reps)
        return sorted(rounds)[1:3]

    def profile(model, x) -> list:
        from torch.profiler import ProfilerActivity, profile

        for _ in range(3):
            model(x)
        with profile(activities=[ProfilerActivity.CUDA]) as p:
            model(x)
            torch.cuda.synchronize()
        kernels: dict[str, list] = {}
        for ev in p.events():
            if "CUDA" in str(ev.device_type):
                k = kernels.setdefault(ev.name[:160], [0, 0.0])
                k[0] += 1
                k[1] += ev.time_range.elapsed_us()
        return sorted(([n, c, us] for n, (c, us) in kernels.items()), key=lambda r: -r[2])

    half, single, bf16 = torch.float16, torch.float32, torch.bfloat16
    first = MODELS[:6]
    with torch.no_grad():
        for name in MODELS[:5] + ["efficientnet_b0", "maxvit_t"]:
            for channels_last, dtype in ((True, half), (False, half), (False, single)):
                result["p"][name + str(int(channels_last)) + str(dtype)[6:]] = profile(
                    *make(name, 32, dtype, channels_last)
                )
        save()
        plans = [
            (half, True, (1, 16, 64, 256), MODELS),
            (single, False, (1, 8, 64), first),
            (half, False, (1, 8, 64), first),
            (bf16, False, (1, 64), first),
            (single, False, (1, 8, 64), MODELS[6:]),
        ]
        for dtype, channels_last, batches, names in plans:
            for name in names:
                for b in batches:
                    if time.time() >= deadline:
                        continue
                    try:
                        t = timed(*make(name, b, dtype, channels_last))
                    except Exception as e:  # noqa: BLE001 - record what failed and go on
                        t = repr(e)[:200]
                    result["t"].append([name, str(dtype)[6:], int(channels_last), b, t])
                    save()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
