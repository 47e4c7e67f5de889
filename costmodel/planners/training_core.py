"""The training step as array arithmetic: one entry per candidate layout, so one layout
(`costmodel train`) and tens of thousands (`plan train`) go through the same formulas and
get the same numbers.

Inputs are the per-stage work of each candidate (forward, backward, weight-gradient,
attention and GEMM seconds of one micro-batch, layer counts, parameters held; built once
per model shard by training_cost.py and summed per stage by training_inputs.py) and the
layout's degrees; outputs the step time with every part of it, exposed and hidden
communication per collective, and memory per device.

The step on the busiest stage (Narayanan et al. 2021, with the schedules of pipeline.py):
    per micro-batch, stage s:  T_s = F_s + B_s + R_s + exposed TP + CP + EP + PP + ZeRO-3
    pipeline = m max_s T_s + (sum_s T_s - max_s T_s) x bubble ratio of the schedule
    step = pipeline + exposed data-parallel sync + optimizer step + per-step casts
Communication per collective (α–β ring models, engine/collectives.py; the tier of each
group from the system file, ranks ordered tp, cp, dp (ep inside dp), pp as in Megatron-LM):
- tensor parallel: 2 all-reduces of a layer's activation per layer forward, 2 backward, 2
  more in a fully recomputed forward (sequence parallelism: reduce-scatter + all-gather,
  the same bytes); hidden behind the layer's GEMMs only with TP overlap.
- context parallel (ring attention, Liu et al. 2023): each layer passes its K/V block
  round the cp ranks (cp - 1 steps) in the forward and K/V plus their gradients in the
  backward, each step behind the attention of the block in hand.
- expert parallel: 2 all-to-alls of the routed tokens (x top-k) per MoE layer forward, 2
  backward; hidden behind another micro-batch's compute with EP overlap (DualPipe).
- pipeline: an activation forward and a gradient back per micro-batch and chunk, 1 / tp
  of it from each TP rank (Megatron's scatter/gather: the receivers all-gather it over
  the TP group unless sequence parallelism keeps it split); hidden with PP overlap under
  the interleaved, ZB-H1 and DualPipe schedules.
- data parallel (Rajbhandari et al. 2020): ZeRO-0 all-reduces the gradients once per
  step; ZeRO-1 reduce-scatters them and all-gathers the updated weights (the same bytes
  as the all-reduce); ZeRO-2 reduce-scatters every micro-batch's gradients (DeepSpeed
  reduces as the buckets fill; there is no full gradient buffer to accumulate into);
  ZeRO-3 / FSDP all-gathers the weights in every micro-batch's forward and backward and
  reduce-scatters the gradients (1.5x the all-reduce's bytes per micro-batch); hybrid
  sharding does that inside its shard group and all-reduces the gradient shards across
  groups once per step. Expert parameters reduce over the dp x cp / ep ranks that hold
  the same experts. The gradient reduction hides behind the backward still running on
  the stages before this one (bucketed, as DDP and Megatron do: the last bucket is
  exposed), the weight all-gather behind the next step's first forward, ZeRO-3's
  prefetched gathers behind the layer before.
Memory per device (the fullest stage): weights, gradients and optimizer states divided by
the ZeRO stage's shard group, cast copies, activations of the micro-batches in flight
(Korthikanti et al. 2022, s b h (34 + 5 a s / h) per layer, flash attention dropping the
score term), the loss's fp32 logits on the last stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..engine.calibration import for_profile
from ..engine.collectives import all_gather_a, all_reduce_a, exposed, send_recv_a
from ..hardware.network import ASSUMED_PCIE_BANDWIDTH, BUS_EFFICIENCY
from .training_host import OPTIMIZER_HOST_PER_TENSOR, ZERO_GRAD_PER_TENSOR, optimizer_after_backward

# stage feature columns (training_inputs.py builds them; axis 2 of `stages`)
FEATURES = (
    "fwd",  # forward seconds of one micro-batch
    "bwd",  # backward seconds
    "wgrad",  # weight-gradient part of bwd
    "attn",  # attention-core forward seconds (selective recompute repeats it)
    "gemm",  # forward GEMM seconds
    "layer_fwd",  # forward seconds of the transformer layers alone (full recompute)
    "step_cast",  # casts paid once per step (fp8 weights)
    "params",  # parameters held (after TP; experts after EP)
    "expert_params",
    "gemm_params",
    "layers",
    "moe_layers",
    "tensors",  # parameter tensors held (the per-tensor optimizer's launches)
    "host_f",  # eager: host seconds of the forward of one micro-batch
    "drift",  # eager: host minus GPU seconds over one micro-batch's forward and backward
    "peak",  # eager: the host's largest lead over the GPU in one micro-batch
    "eager",  # 1 under eager dispatch
    "valid",  # 1 for a real stage, 0 for padding
)
F = {name: i for i, name in enumerate(FEATURES)}

# Megatron-LM's gradient bucket: max(40M, 1M x dp) parameters (megatron/core/distributed/
# distributed_data_parallel.py); the exposed tail of an overlapped reduction is one bucket
BUCKET_PARAMS = 40e6
# ZeRO-3 keeps the layer in use and the prefetched next one gathered (FSDP's default
# forward prefetch depth of one)
ZERO3_LIVE_LAYERS = 2
SCHEDULE_CODES = {"1f1b": 0, "interleaved": 1, "zb-h1": 2, "dualpipe": 3}
RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}
IMPL_CODES = {"fused": 0, "foreach": 1, "per-tensor": 2}


@dataclass
class Columns:
    """One entry per candidate (arrays of length N), plus `stages` (N, P, features)."""

    stages: Any
    m: Any  # micro-batches per step
    pp: Any
    v: Any  # interleaved chunks
    dp: Any
    tp: Any
    cp: Any
    ep: Any
    sp: Any  # 0 / 1
    mb: Any  # micro-batch
    zero: Any
    shard: Any  # shard group size (dp x cp for full sharding)
    recompute: Any  # RECOMPUTE_CODES
    schedule: Any  # SCHEDULE_CODES
    offload: Any
    impl: Any  # IMPL_CODES
    ov_dp: Any
    ov_fsdp: Any
    ov_tp: Any
    ov_pp: Any
    ov_ep: Any
    # model / recipe facts (arrays too, so candidates of several recipes can mix)
    seq: Any
    hidden: Any
    vocab: Any
    kv_dim: Any  # kv_heads x head_dim (full model)
    heads: Any
    top_k: Any
    act_bytes: Any  # activation dtype bytes
    weight_bytes: Any
    grad_bytes: Any
    grad_comm_bytes: Any
    gather_bytes: Any
    cast_bytes: Any  # per GEMM weight, cast copies alive from forward to backward
    opt_bytes: Any  # optimizer-state bytes per parameter (master copy included if any)
    master: Any  # 0 / 1
    act_scale: Any
    unfused: Any  # 0 / 1: attention scores through memory (recipe.attention)
    capacity: Any  # device memory, bytes


@dataclass
class Results:
    """Arrays of length N."""

    step_s: Any
    compute_s: Any
    recompute_s: Any
    bubble_s: Any
    optimizer_s: Any
    comm_total: dict[str, Any]  # per collective: seconds per step on the busiest stage
    comm_exposed: dict[str, Any]
    comm_bytes: dict[str, Any]  # bytes per device per step
    weights_bytes: Any
    grads_bytes: Any
    optimizer_bytes: Any
    activation_bytes: Any
    fits: Any
    optimizer_gpu_s: Any = None  # eager: the update's GPU seconds and its host dispatches
    optimizer_ops: Any = None


def _tier(system: Any, group: Any, stride: Any) -> tuple[Any, Any]:
    """(achievable bandwidth, per-step latency) of the tier a group of `group` ranks spaced
    `stride` apart crosses (System.tier_for, over arrays)."""
    inter = np.asarray(group) * np.asarray(stride) > system.devices_per_node
    a, b = system.intra, system.inter
    bw = np.where(inter, b.bandwidth * b.efficiency, a.bandwidth * a.efficiency)
    lat = np.where(inter, b.latency_s, a.latency_s)
    return bw, lat


def _col(stages: Any, name: str) -> Any:
    return stages[:, :, F[name]]


def evaluate(c: Columns, system: Any) -> Results:
    st = c.stages
    n = st.shape[0]
    valid = _col(st, "valid")
    fwd, bwd, wgrad = _col(st, "fwd"), _col(st, "bwd"), _col(st, "wgrad")
    attn, gemm = _col(st, "attn"), _col(st, "gemm")
    layers, moe = _col(st, "layers"), _col(st, "moe_layers")
    params, eparams = _col(st, "params"), _col(st, "expert_params")
    dparams = params - eparams
    tp, cp, dp, ep, pp = (np.asarray(x, dtype=float) for x in (c.tp, c.cp, c.dp, c.ep, c.pp))
    mb, m, v = (np.asarray(x, dtype=float) for x in (c.mb, c.m, c.v))

    def col(x: npt.ArrayLike) -> np.ndarray:
        return np.asarray(x, dtype=float)[:, None]

    seq_l = c.seq / c.cp
    sp = c.sp > 0
    rc = c.recompute

    # -- recompute ---------------------------------------------------------------------
    rec = np.where(col(rc) == 1, attn, np.where(col(rc) == 2, _col(st, "layer_fwd"), 0.0))

    # -- tensor parallel ---------------------------------------------------------------
    msg = c.act_bytes * mb * seq_l * c.hidden
    bw_tp, lat_tp = _tier(system, tp, 1)
    one_tp = all_reduce_a(msg, tp, bw_tp, lat_tp)
    n_tp = 4 + 2 * (rc == 2)
    tp_tot = layers * col(one_tp * n_tp)
    tp_exp = exposed(tp_tot, 3 * gemm, 0.0, col(c.ov_tp) > 0)

    # -- context parallel (ring attention) ---------------------------------------------
    kv_local = c.act_bytes * 2 * mb * seq_l * np.maximum(c.kv_dim / tp, 1.0)
    bw_cp, lat_cp = _tier(system, cp, tp)
    ring = np.where(cp > 1, (cp - 1) * send_recv_a(kv_local, bw_cp, lat_cp), 0.0)
    cp_f = layers * col(ring)
    cp_tot = 3 * cp_f
    cp_exp = np.maximum(cp_f - attn, 0.0) + np.maximum(2 * cp_f - 2.5 * attn, 0.0)

    # -- expert parallel ---------------------------------------------------------------
    routed = c.act_bytes * mb * seq_l / np.where(sp, tp, 1.0) * c.hidden * c.top_k
    bw_ep, lat_ep = _tier(system, ep, tp * cp)
    ep_tot = moe * col(4 * all_gather_a(routed, ep, bw_ep, lat_ep))
    ep_exp = exposed(ep_tot, fwd + bwd, 0.0, col(c.ov_ep) > 0)

    # -- pipeline sends ----------------------------------------------------------------
    # Megatron's scatter/gather (Narayanan et al. 2021, sec. 4.1): each TP rank sends its
    # 1 / tp of the activation and the receiving ranks all-gather it over their own tier;
    # under sequence parallelism the activation is already split
    bw_pp, lat_pp = _tier(system, pp, tp * cp * dp)
    regather = np.where(sp | (tp <= 1), 0.0, all_gather_a(msg, tp, bw_tp, lat_tp))
    p2p = np.where(pp > 1, 2 * v * (send_recv_a(msg / tp, bw_pp, lat_pp) + regather), 0.0)
    pp_tot = np.broadcast_to(col(p2p), fwd.shape) * valid
    hide_pp = (c.ov_pp > 0) & (c.schedule != SCHEDULE_CODES["1f1b"])
    pp_exp = np.where(col(hide_pp), 0.0, pp_tot)

    # -- data parallel / ZeRO ------------------------------------------------------------
    dpcp = dp * cp
    shard = np.asarray(c.shard, dtype=float)
    hybrid = shard < dpcp
    replicas = dpcp / shard
    edp = np.maximum(dpcp / ep, 1.0)  # ranks holding the same experts
    eshard = np.maximum(shard / ep, 1.0)
    bw_d, lat_d = _tier(system, dpcp, tp)
    bw_e, lat_e = _tier(system, edp, tp * cp * ep)
    bw_s, lat_s = _tier(system, shard, tp)
    bw_se, lat_se = _tier(system, eshard, tp * cp * ep)
    bw_r, lat_r = _tier(system, replicas, tp * shard)
    gcb, wb, gab = col(c.grad_comm_bytes), col(c.weight_bytes), col(c.gather_bytes)
    z = col(c.zero)

    def rs(bytes_dense: Any, bytes_expert: Any, g: Any, ge: Any, bw: Any, lat: Any, bwe: Any, late: Any) -> Any:
        return all_gather_a(bytes_dense, col(g), col(bw), col(lat)) + all_gather_a(
            bytes_expert, col(ge), col(bwe), col(late)
        )

    g_d, g_e = dparams * gcb, eparams * gcb
    w_d, w_e = dparams * wb, eparams * wb
    # per step: ZeRO-0 all-reduce; ZeRO-1 reduce-scatter; (ZeRO-1/2) weight all-gather
    ar = all_reduce_a(g_d, col(dpcp), col(bw_d), col(lat_d)) + all_reduce_a(g_e, col(edp), col(bw_e), col(lat_e))
    rs_full = rs(g_d, g_e, dpcp, edp, bw_d, lat_d, bw_e, lat_e)
    ag_full = rs(w_d, w_e, dpcp, edp, bw_d, lat_d, bw_e, lat_e)
    grad_step = np.where(z == 0, ar, np.where(z == 1, rs_full, 0.0))
    gather_step = np.where((z == 1) | (z == 2), ag_full, 0.0)
    # per micro-batch: ZeRO-2 reduce-scatter; ZeRO-3 two all-gathers and a reduce-scatter
    # inside the shard group, and the hybrid all-reduce of the shards once per step
    rs_shard = rs(g_d, g_e, shard, eshard, bw_s, lat_s, bw_se, lat_se)
    ag_shard = rs(dparams * gab, eparams * gab, shard, eshard, bw_s, lat_s, bw_se, lat_se)
    grad_mb = np.where(z == 2, rs_full, np.where(z == 3, rs_shard, 0.0))
    gather_mb = np.where(z == 3, ag_shard, 0.0)
    hyb = np.where(
        (z == 3) & (col(hybrid) > 0), all_reduce_a((g_d + g_e) / col(shard), col(replicas), col(bw_r), col(lat_r)), 0.0
    )
    grad_step = grad_step + hyb
    bucket = np.minimum(BUCKET_PARAMS * gcb, np.maximum(g_d + g_e, 1.0))
    tail_frac = bucket / np.maximum(g_d + g_e, 1.0)
    ov_dp = col(c.ov_dp) > 0
    ov_fs = col(c.ov_fsdp) > 0
    lay = np.maximum(layers, 1.0)
    z3_exp = exposed(gather_mb, fwd, gather_mb / lay, ov_fs) + exposed(gather_mb + grad_mb, bwd, grad_mb / lay, ov_fs)
    z3_exp = np.where(z == 3, z3_exp, 0.0)
    z2_exp = np.where(z == 2, exposed(grad_mb, bwd, grad_mb * tail_frac, ov_dp), 0.0)

    # -- per micro-batch time per stage, the pipeline ------------------------------------
    comm_mb = tp_exp + cp_exp + ep_exp + pp_exp + z3_exp + z2_exp
    per_mb = fwd + bwd + rec + comm_mb
    # eager dispatch (training_host.py): over m micro-batches the GPU finishes
    # m (G + max(D, 0)) + P - max(D, 0) after the start, G the GPU time, D the host's
    # drift and P its peak lead per micro-batch; a full recompute dispatches the forward
    # again in the backward, and the collectives keep the GPU busy too
    drift = _col(st, "drift") + np.where(col(rc) == 2, _col(st, "host_f") - rec, 0.0) - comm_mb
    peak = np.maximum(_col(st, "peak"), drift)
    per_mb = (per_mb + np.maximum(drift, 0.0)) * valid
    busiest = np.argmax(per_mb, axis=1)
    pick = np.arange(n)
    t_max = per_mb[pick, busiest]
    f_b, b_b, w_b = fwd[pick, busiest], bwd[pick, busiest] + rec[pick, busiest], wgrad[pick, busiest]
    fb = np.maximum(f_b + b_b, 1e-30)
    sched = c.schedule
    ratio = np.select(
        [
            sched == SCHEDULE_CODES["interleaved"],
            sched == SCHEDULE_CODES["zb-h1"],
            sched == SCHEDULE_CODES["dualpipe"],
        ],
        [
            1.0 / v,
            np.maximum(fb - 2 * w_b, 0.0) / fb,
            (pp / 2 - 1) * np.maximum(f_b + 2 * b_b - 3 * w_b, 0.0) / (np.maximum(pp - 1, 1.0) * fb),
        ],
        1.0,
    )
    bubble = np.where(pp > 1, (per_mb.sum(axis=1) - t_max) * ratio, 0.0)
    host_fill = (peak - np.maximum(drift, 0.0))[np.arange(n), busiest]
    pipeline = m * t_max + bubble + host_fill

    # data-parallel sync after the pipeline: a stage's reduction overlaps the backward of
    # the stages still draining before it (its own last backward and theirs)
    window = np.cumsum(bwd * valid, axis=1)
    dp_exp_stage = exposed(grad_step, window, grad_step * tail_frac, ov_dp) + exposed(
        gather_step, fwd, gather_step * tail_frac, ov_dp
    )
    dp_exp = (dp_exp_stage * valid).max(axis=1)

    # -- optimizer step ------------------------------------------------------------------
    hw = system.device
    cal = for_profile(hw)
    stream = hw.memory_bandwidth * cal.stream_bandwidth_fraction
    opt_params = dparams / np.where(z >= 1, col(shard), 1.0) + eparams / np.where(z >= 1, col(eshard), 1.0)
    # bytes per parameter of the update: states (master included) read and written, the
    # gradient read, the working weights written (or read and written without a master)
    master = col(c.master)
    upd = 2 * col(c.opt_bytes) + col(c.grad_bytes) + np.where(master > 0, wb, 2 * wb)
    # torch.optim's foreach AdamW makes ~10 passes over lists of tensors (_multi_tensor_adam:
    # weight decay, lerp, mul, addcmul, sqrt, div, add, addcdiv): ~2.8x the fused traffic
    impl = col(c.impl)
    traffic = np.where(impl == IMPL_CODES["fused"], 1.0, FOREACH_TRAFFIC)
    opt_gpu = (opt_params * upd * traffic / stream * valid).max(axis=1)
    # launches: fused and foreach kernels take up to MTA_ELEMENTS per launch
    # (multi_tensor_apply: 320 blocks of 65,536 elements), the fused kernel once, foreach
    # once per operation; the per-tensor loop one kernel per operation and tensor
    per_launch = np.ceil((opt_params * valid).max(axis=1) / MTA_ELEMENTS)
    tensors = (_col(st, "tensors") * valid).max(axis=1)
    launches = np.select(
        [c.impl == IMPL_CODES["per-tensor"], c.impl == IMPL_CODES["foreach"]],
        [PER_TENSOR_OPS * tensors, FOREACH_OPS * per_launch],
        per_launch,
    )
    host = np.where(c.impl == IMPL_CODES["per-tensor"], cal.dispatch("default"), cal.kernel_overhead_s)
    opt_s = np.maximum(opt_gpu, launches * host) + np.where(
        c.impl == IMPL_CODES["per-tensor"], 0.0, launches * cal.kernel_overhead_s
    )
    pcie = float(hw.pcie.bandwidth) if hw.pcie is not None else ASSUMED_PCIE_BANDWIDTH
    off = (opt_params * (col(c.grad_bytes) + wb) / (BUS_EFFICIENCY * pcie) * valid).max(axis=1)
    # eager: the optimizer's host time (its n dispatches) trails the host's lead at the
    # end of the last backward, and zero_grad's Python loop comes before the forward
    eager = (_col(st, "eager") * valid).max(axis=1) > 0
    d_b, p_b = drift[pick, busiest], peak[pick, busiest]
    d_seq, p_seq = m * d_b, p_b + np.maximum((m - 1) * d_b, 0.0)
    opt_host = tensors * np.select(
        [c.impl == IMPL_CODES["fused"], c.impl == IMPL_CODES["foreach"]],
        [OPTIMIZER_HOST_PER_TENSOR["fused"], OPTIMIZER_HOST_PER_TENSOR["foreach"]],
        OPTIMIZER_HOST_PER_TENSOR["per-tensor"],
    )
    opt_gpu_eager = opt_gpu + launches * cal.kernel_overhead_s
    n_opt = np.maximum(np.where(c.impl == IMPL_CODES["fused"], 1.0, launches), 1.0)
    opt_eager = optimizer_after_backward(opt_gpu_eager, n_opt, opt_host, d_seq, p_seq)
    zero_grad = np.where(c.master > 0, 0.0, tensors * ZERO_GRAD_PER_TENSOR)
    opt_s = np.where(eager, opt_eager + zero_grad, opt_s)
    opt_s = np.where(c.offload > 0, off, opt_s)
    step_cast = (_col(st, "step_cast") * valid).max(axis=1)

    step = pipeline + dp_exp + opt_s + step_cast

    def busy(x: Any) -> Any:
        return (x * valid)[pick, busiest]

    comm_total = {
        "tp": m * busy(tp_tot),
        "cp": m * busy(cp_tot),
        "ep": m * busy(ep_tot),
        "pp": m * busy(pp_tot),
        "dp": (grad_step + gather_step + m[:, None] * (grad_mb + 2 * gather_mb))[pick, busiest],
    }
    comm_exposed = {
        "tp": m * busy(tp_exp),
        "cp": m * busy(cp_exp),
        "ep": m * busy(ep_exp),
        "pp": m * busy(pp_exp),
        "dp": dp_exp + m * busy(z3_exp + z2_exp),
    }
    dp_bytes = (g_d + g_e) * np.where(z == 0, 2.0, 1.0) + np.where((z == 1) | (z == 2), w_d + w_e, 0.0)
    dp_bytes = np.where(z == 3, col(m) * ((dparams + eparams) * 2 * gab + g_d + g_e), dp_bytes)
    dp_bytes = np.where(z == 2, col(m) * (g_d + g_e) + w_d + w_e, dp_bytes)
    comm_bytes = {
        "tp": m * busy(layers * col(msg * n_tp * 2 * np.where(tp > 1, (tp - 1) / tp, 0.0))),
        "cp": m * busy(layers * col(3 * np.where(cp > 1, (cp - 1) * kv_local, 0.0))),
        "ep": m * busy(moe * col(4 * routed * np.where(ep > 1, (ep - 1) / ep, 0.0))),
        "pp": m * np.where(pp > 1, 2 * v * msg / tp, 0.0),
        "dp": busy(dp_bytes) * np.where(dpcp > 1, (dpcp - 1) / dpcp, 0.0),
    }
    from .training_memory import memory

    w, g, o, a = memory(c)
    return Results(
        step_s=step,
        compute_s=m * (f_b + bwd[pick, busiest]),
        recompute_s=m * rec[pick, busiest],
        bubble_s=bubble,
        optimizer_s=opt_s + step_cast,
        comm_total=comm_total,
        comm_exposed=comm_exposed,
        comm_bytes=comm_bytes,
        weights_bytes=w,
        grads_bytes=g,
        optimizer_bytes=o,
        activation_bytes=a,
        fits=(w + g + o + a) <= c.capacity,
        optimizer_gpu_s=opt_gpu_eager,
        optimizer_ops=n_opt,
    )


# torch.optim AdamW, foreach (torch/optim/adam.py, _multi_tensor_adam) reads and writes per
# parameter: weight decay p (8 B), lerp m <- g (12), mul v (8), addcmul v <- g, g (12),
# sqrt v -> d (8), div d (8), add d (8), addcdiv p <- m, d (16): 80 B against the fused
# kernel's 28 (fp32 p, g, m, v read; p, m, v written)
FOREACH_TRAFFIC = 80 / 28
FOREACH_OPS = 8
# the per-tensor loop (foreach=False, _single_tensor_adam) dispatches per parameter tensor
# the same 8 GPU operations plus the step counter's increment on the host, each a Python
# call into the dispatcher
PER_TENSOR_OPS = 10
MTA_ELEMENTS = 320 * 65536
