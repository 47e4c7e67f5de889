"""Memory per device of the array step model (training_core.py), on the fullest stage:
weights, gradients and optimizer states divided by the ZeRO stage's shard group (ZeRO-3
also holds the layers in use gathered), cast copies, activations of the micro-batches in
flight under the schedule (Korthikanti et al. 2022, s b h (34 + 5 a s / h) per layer,
flash attention dropping the score term, unfused attention keeping it), the loss's fp32 logits on the last stage; with torch.optim's gradients freed between
steps, the larger of the backward's and the optimizer's peaks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .training_core import IMPL_CODES, SCHEDULE_CODES, ZERO3_LIVE_LAYERS, Columns, _col


def memory(c: Columns) -> tuple[Any, Any, Any, Any]:
    """(weights, grads, optimizer, activations) bytes per device on the fullest stage, and
    per stage (N, P) arrays reduced to the stage with the largest total."""
    st = c.stages
    valid = _col(st, "valid")
    params = _col(st, "params")
    shard = c.shard[:, None].astype(float)
    z = c.zero[:, None]
    copies = np.where(c.schedule == SCHEDULE_CODES["dualpipe"], 2.0, 1.0)[:, None]
    layers = np.maximum(_col(st, "layers"), 1.0)
    # expert parameters shard over the ranks that hold the same experts (dp x cp / ep)
    eparams = _col(st, "expert_params")
    eshard = np.maximum(shard / c.ep[:, None], 1.0)

    def sharded(stage: int) -> Any:
        return np.where(z >= stage, (params - eparams) / shard + eparams / eshard, params)

    weights = sharded(3) * c.weight_bytes[:, None] * copies
    weights = weights + _col(st, "gemm_params") * c.cast_bytes[:, None] * copies
    # ZeRO-3: the layers in use held gathered
    weights = weights + np.where(z >= 3, params / layers * ZERO3_LIVE_LAYERS * c.gather_bytes[:, None], 0.0)
    grads = sharded(2) * c.grad_bytes[:, None]
    opt = np.where(c.offload[:, None] > 0, 0.0, sharded(1) * c.opt_bytes[:, None])
    # activations (Korthikanti et al. 2022): 34 s b h per layer in 16-bit; TP divides 24
    # of them (all 34 with SP); full recompute keeps the layer input only
    s = (c.seq / c.cp)[:, None]
    sbh = s * c.mb[:, None] * c.hidden[:, None]
    t = c.tp[:, None].astype(float)
    per = np.where((c.sp[:, None] > 0) | (t == 1), sbh * 34 / t, sbh * (10 + 24 / t))
    rc = c.recompute[:, None]
    # unfused attention keeps its scores: 5 a s / h more (the softmax output and its
    # dropout mask, 2 + 1 bytes, and the dropout output, 2), split by heads over the TP
    # ranks; selective recompute drops them
    scores = sbh * 5 * c.heads[:, None] * s / c.hidden[:, None] / t
    per = per + np.where((c.unfused[:, None] > 0) & (rc == 0), scores, 0.0)
    per = np.where(rc == 2, 2 * sbh / np.where(c.sp[:, None] > 0, t, 1.0), per)
    pp = c.pp[:, None].astype(float)
    m = c.m[:, None].astype(float)
    stage = np.arange(st.shape[1])[None, :].astype(float)
    held = np.minimum(pp - stage, m)
    sched = c.schedule[:, None]
    v = c.v[:, None].astype(float)
    held = np.where(sched == SCHEDULE_CODES["interleaved"], held * (1 + (pp - 1) / (pp * v)), held)
    held = np.where(sched == SCHEDULE_CODES["dualpipe"], np.minimum(pp + 1, 2 * m), held)
    held = np.where(pp <= 1, 1.0, np.maximum(held, 1.0))
    acts = per * _col(st, "layers") * held * c.act_scale[:, None]
    # the loss on the last stage (vocab-parallel): the fp32 log-probabilities kept for the
    # backward (4 B), their gradient (4 B) and its 16-bit cast for the head's backward (2 B)
    last = stage == (pp - 1)
    acts = acts + np.where(last, 10 * s * c.mb[:, None] * np.ceil(c.vocab[:, None] / t), 0.0)
    # torch.optim's gradients (no master copy: PyTorch AMP, fp32) are set to None between
    # steps (zero_grad's default since PyTorch 2.0). With one micro-batch they are
    # allocated as the backward produces them, while it frees the activations: the peak
    # is the head's backward (activations, the loss, the head's weight gradient) or the
    # optimizer step (every gradient and, under foreach AdamW, one fp32 temporary the
    # size of the parameters: _multi_tensor_adam's _foreach_sqrt of the second moments)
    freed = ((c.master == 0) & (c.m <= 1) & (c.zero == 0))[:, None]
    head_grad = np.where(last, c.vocab[:, None] * c.hidden[:, None] / t * c.grad_bytes[:, None], 0.0)
    temp = np.where(c.impl[:, None] == IMPL_CODES["foreach"], sharded(1) * 4, 0.0)
    acts = np.where(freed, np.maximum(acts + head_grad, grads + temp) - grads, acts)
    total = (weights + grads + opt + acts) * valid
    k = np.argmax(total, axis=1)
    pick = np.arange(len(k))
    return weights[pick, k], grads[pick, k], opt[pick, k], acts[pick, k]
