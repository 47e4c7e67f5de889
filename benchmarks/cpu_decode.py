"""Measure a Llama-3.2-1B-shaped decode step on this CPU with numpy (fp32, random weights:
nothing is downloaded), to check what `costmodel llm llama-3.2-1b --hardware local.toml`
predicts from a `costmodel calibrate` profile.

    python -m benchmarks.cpu_decode --prompt-len 128 --output-len 16 [--repeats 3]

The step is what a framework's eager decode runs for batch 1: per layer RMSNorm, the q, k
and v projections, rotary embedding, the KV-cache append, grouped-query attention over
the cache, the output projection, RMSNorm, gate and up projections, SiLU x up, the down
projection; then the final norm and the tied lm_head. Shapes from the model's config.json
(model_specs/llama-3.2-1b.yaml: hidden 2048, 16 layers, 32 heads, 8 KV heads, head_dim 64,
FFN 8192, vocab 128256).

Every layer has its own weights (4.9 GB in fp32): one layer's weights reused 16 times ran
1.7x faster here although 243 MB is ~8x the L3 (the host's caches or prefetchers keep
part of it), so reuse would flatter the CPU.
Prints one JSON object: seconds per decode step (best and median over `--repeats` x
(output_len - 1) steps) and the settings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB = 2048, 16, 32, 8, 64, 8192, 128256
EPS = 1e-5


def _layer(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def w(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float32)

    return {
        "q": w(HIDDEN, HEADS * HEAD_DIM),
        "k": w(HIDDEN, KV_HEADS * HEAD_DIM),
        "v": w(HIDDEN, KV_HEADS * HEAD_DIM),
        "o": w(HEADS * HEAD_DIM, HIDDEN),
        "gate": w(HIDDEN, FFN),
        "up": w(HIDDEN, FFN),
        "down": w(FFN, HIDDEN),
        "norm1": np.ones(HIDDEN, np.float32),
        "norm2": np.ones(HIDDEN, np.float32),
    }


def _rms(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * g


def _rope(x: np.ndarray, pos: int) -> np.ndarray:
    half = HEAD_DIM // 2
    inv = 1.0 / (500000.0 ** (np.arange(half, dtype=np.float32) / half))
    ang = pos * inv
    cos, sin = np.cos(ang), np.sin(ang)
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)


def decode_step(x, layers, emb, k_cache, v_cache, pos):
    """One token through the model; the caches hold positions [0, pos)."""
    for li, lw in enumerate(layers):
        h = _rms(x, lw["norm1"])
        q = (h @ lw["q"]).reshape(HEADS, HEAD_DIM)
        k = (h @ lw["k"]).reshape(KV_HEADS, HEAD_DIM)
        v = (h @ lw["v"]).reshape(KV_HEADS, HEAD_DIM)
        q, k = _rope(q, pos), _rope(k, pos)
        k_cache[li][:, pos] = k
        v_cache[li][:, pos] = v
        kc, vc = k_cache[li][:, : pos + 1], v_cache[li][:, : pos + 1]  # (kv, c, d)
        qg = q.reshape(KV_HEADS, HEADS // KV_HEADS, HEAD_DIM)
        s = np.matmul(qg, kc.transpose(0, 2, 1)) / np.float32(np.sqrt(HEAD_DIM))  # (kv, g, c)
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s /= s.sum(axis=-1, keepdims=True)
        a = np.matmul(s, vc).reshape(HEADS * HEAD_DIM)
        x = x + a @ lw["o"]
        h = _rms(x, lw["norm2"])
        g = h @ lw["gate"]
        x = x + ((g / (1 + np.exp(-g))) * (h @ lw["up"])) @ lw["down"]
    x = _rms(x, np.ones(HIDDEN, np.float32))
    return x @ emb.T  # tied lm_head: logits over the vocabulary


def measure(prompt_len: int, output_len: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    layers = [_layer(rng) for _ in range(LAYERS)]
    emb = (rng.standard_normal((VOCAB, HIDDEN), dtype=np.float32) * 0.02).astype(np.float32)
    ctx = prompt_len + output_len
    k_cache = [rng.standard_normal((KV_HEADS, ctx, HEAD_DIM), dtype=np.float32) for _ in range(LAYERS)]
    v_cache = [rng.standard_normal((KV_HEADS, ctx, HEAD_DIM), dtype=np.float32) for _ in range(LAYERS)]
    x = rng.standard_normal(HIDDEN, dtype=np.float32)
    decode_step(x, layers, emb, k_cache, v_cache, prompt_len)  # warm-up (page faults, BLAS threads)
    steps = []
    for _ in range(repeats):
        # the first output token comes from prefill: output_len - 1 decode steps
        for pos in range(prompt_len, prompt_len + output_len - 1):
            t0 = time.perf_counter()
            decode_step(x, layers, emb, k_cache, v_cache, pos)
            steps.append(time.perf_counter() - t0)
    steps.sort()
    return {
        "model": "llama-3.2-1b (shape), fp32, batch 1",
        "prompt_len": prompt_len,
        "output_len": output_len,
        # the context grows by 15 positions over the steps: a ~0.1% change in the step's
        # bytes, so the steps are samples of one quantity; the best is the least disturbed
        # by other processes on a shared machine
        "seconds_per_token_best": steps[0],
        "seconds_per_token_median": steps[len(steps) // 2],
        "steps": len(steps),
        "repeats": repeats,
        "numpy": np.__version__,
        "machine": platform.platform(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    print(json.dumps(measure(a.prompt_len, a.output_len, a.repeats), indent=1, allow_nan=False))


if __name__ == "__main__":
    main()
