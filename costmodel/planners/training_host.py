"""The host side of an eager training step: PyTorch issues every kernel from Python (the
forward, with autograd recording each op and autocast wrapping it), from the autograd
engine (the backward) and from torch.optim (the update), and the GPU runs them in issue
order, each as soon as it is issued and the one before it is done. Over a stream of ops
with host times h_i and GPU times g_i the GPU finishes at

    T = sum g + max_k (sum_{i<=k} h_i - sum_{i<k} g_i)

(the longest host lead over the GPU at any issue), a max-plus product that composes:
a stretch of ops is summarised by its drift D = sum (h - g) and its peak lead
P = max_k (...), and two stretches by (D1 + D2, max(P1, D1 + P2)).

Host times per op are the profile's calibrated eager dispatch (engine/calibration.py,
fitted on eager inference) scaled by what a training step adds around each op, and the
optimizer's and zero_grad's host times per parameter tensor. These constants were fitted
on our own H200 measurement (benchmarks/data/h200-train-2026-12-04.json; the fit:
benchmarks/fit_train_host.py), and they describe that machine's host CPU:
- forward and backward multipliers from the nanoGPT-style 1 x 1024 row's synced forward
  and backward parts (the GPU idle most of that step);
- the optimizer's host time per tensor, for each AdamW implementation, and zero_grad's,
  from the Hugging Face GPT2LMHeadModel rows (the medians of their synced parts; the
  optimizer does not depend on the model code, only on its 148 parameter tensors).
The other nanoGPT-style rows (8 x 1024 foreach and fused, 32 x 1024) are held out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

# host time of a forward op in a training step / its eager inference dispatch (autograd
# recording, autocast's casts and the views the lowering folds away)
FORWARD_HOST = 7.40
# host time of the backward of an op / the op's eager inference dispatch (the autograd
# engine's node, its kernels, gradient accumulation)
BACKWARD_HOST = 13.9
# torch.optim AdamW's host seconds per parameter tensor (its Python loop over the
# parameters, the foreach / fused calls over their lists)
OPTIMIZER_HOST_PER_TENSOR = {"fused": 12.1e-6, "foreach": 32.4e-6, "per-tensor": 154e-6}
# zero_grad(set_to_none=True): a Python loop over the parameters, no kernel
ZERO_GRAD_PER_TENSOR = 3.04e-6


def lead(ops: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """(drift, peak lead) of a stream of (host, GPU) op times."""
    d, p = 0.0, float("-inf")
    for h, g in ops:
        p = max(p, d + h)
        d += h - g
    return d, (p if p != float("-inf") else 0.0)


def chain(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """The stream a then b."""
    return a[0] + b[0], max(a[1], a[0] + b[1])


def repeat(a: tuple[float, float], n: int) -> tuple[float, float]:
    """The stream a, n times over."""
    if n <= 0:
        return 0.0, 0.0
    return n * a[0], a[1] + max(0.0, (n - 1) * a[0])


def optimizer_peak(gpu_s: Any, ops: Any, host_s: Any) -> Any:
    """Peak host lead of an update of `ops` equal dispatches (host_s in all) over kernels
    of gpu_s in all."""
    return np.maximum(host_s - gpu_s * (1 - 1 / ops), host_s / ops)


def optimizer_after_backward(gpu_s: Any, ops: Any, host_s: Any, drift: Any, peak: Any) -> Any:
    """Seconds the update adds after the last backward kernel, when the step's stream so
    far has (drift, peak) and the update runs after it (chain, then T = G + P)."""
    return gpu_s + np.maximum(drift + optimizer_peak(gpu_s, ops, host_s) - peak, 0.0)
