"""Size-dependent efficiency of the kernels real libraries run (cuBLAS GEMMs, cuDNN
convolutions, flash attention, memory-bound elementwise / row-wise kernels).

Each function returns (compute_s, memory_s) for one kernel on the device; the caller
combines them with the per-kernel overhead. All inputs are concrete numbers.
"""

from __future__ import annotations

import math

from ..ops.kernel import AttentionShape, ConvShape, GemmShape
from .calibration import Calibration


def _ceil(a: float, b: float) -> float:
    return math.ceil(a / b) if b else 0.0


def wave_utilization(tiles: float, units: int) -> float:
    """Fraction of the device's compute units busy over the kernel's waves."""
    if tiles <= 0 or units <= 0:
        return 1.0
    waves = math.ceil(tiles / units)
    return tiles / (waves * units)


# Tile shapes cuBLAS/cuDNN pick from (M x N per thread block); smaller tiles fill the
# device on skinny problems but reuse less data: their ceiling scales as
# (area / reference area) ** gemm_small_tile_exponent, the reference being the tile the
# large-GEMM ceiling (`gemm_fraction`) is reached with (`gemm_tile_m` x `gemm_tile_n`).
TILES = (
    (256, 128),
    (128, 256),
    (128, 128),
    (128, 64),
    (64, 128),
    (64, 64),
    (64, 32),
    (32, 64),
    (32, 32),
    (16, 64),
    (64, 16),
    (16, 32),
)


def tile_efficiency(batch: float, m: float, n: float, k: float, units: int, cal: Calibration) -> float:
    """Best (padding x wave quantization x tile-size) efficiency over the tile shapes,
    with split-K when tiles are fewer than compute units (as cuBLAS heuristics do)."""
    best = 0.0
    reference = float(cal.gemm_tile_m * cal.gemm_tile_n)
    for tm, tn in TILES:
        pad = (m / (_ceil(m, tm) * tm)) * (n / (_ceil(n, tn) * tn))
        tiles = batch * _ceil(m, tm) * _ceil(n, tn)
        if units and tiles < units:
            split = max(1, min(int(k // 256), math.ceil(units / tiles)))
            tiles *= split
        wave = wave_utilization(tiles, units) if units else 1.0
        size = min(1.0, (tm * tn / reference) ** cal.gemm_small_tile_exponent)
        e = pad * wave * size
        best = max(best, e)
    return best


def gemm_efficiency(
    batch: float, m: float, n: float, k: float, cal: Calibration, dtype: str, units: int, elem_bytes: float
) -> float:
    """Fraction of the matrix peak a cuBLAS GEMM reaches: the ceiling of its alignment
    class (gemm_alignment), times the best tile choice (padding, waves, split-K) and a K
    ramp for the per-tile prologue/epilogue."""
    table = {
        "aligned": cal.gemm_fraction,
        "partial": cal.gemm_partial_fraction,
        "misaligned": cal.gemm_misaligned_fraction,
    }[gemm_alignment(n, k, elem_bytes)]
    peak = cal.frac(table, dtype)
    ramp = k / (k + cal.gemm_k_ramp)
    return max(peak * tile_efficiency(batch, m, n, k, units, cal) * ramp, 1e-4)


def gemm_time(
    flops: float,
    bytes_: float,
    geom: GemmShape,
    peak: float,
    bw: float,
    cal: Calibration,
    dtype: str,
    units: int,
    elem_bytes: float,
) -> tuple[float, float]:
    batch, m, n, k = (float(x) for x in geom.dims())
    eff = gemm_efficiency(batch, m, n, k, cal, dtype, units, elem_bytes)
    bw_frac = {
        "aligned": cal.gemm_bandwidth_fraction,
        "partial": cal.gemm_partial_bandwidth_fraction,
        "misaligned": cal.gemm_misaligned_bandwidth_fraction,
    }[gemm_alignment(n, k, elem_bytes, bandwidth=True)]
    return flops / (peak * eff), bytes_ / (bw * bw_frac)


def gemm_alignment(n: float, k: float, elem_bytes: float, bandwidth: bool = False) -> str:
    """The alignment class of a row-major GEMM's leading dimensions (K of A, N of B and C),
    by the widest global load they allow:

    - "aligned": multiples of 16 bytes. Hopper's TMA needs 16-byte global strides
      (CUDA driver API, cuTensorMapEncodeTiled: globalStrides a multiple of 16) and
      Ampere's fastest kernels copy 16 bytes per cp.async;
    - "partial": multiples of 4 or 8 bytes but not 16: the multistage kernels still run,
      with 4- or 8-byte cp.async copies (PTX ISA, cp.async: cp-size 4, 8 or 16), i.e.
      CUTLASS's align2/align4 half-precision instances;
    - "misaligned": 2-byte (odd 16-bit, or 1-/2-byte fp8/int8) strides: no cp.async size
      fits, so tiles are staged through registers with one load per element.

    4-byte elements are always at least 4-byte aligned: fp32 and tf32 have their own
    misaligned (not 16-byte aligned) fraction in the aligned/misaligned pair, and for the
    bandwidth side count as aligned."""
    if elem_bytes >= 4:
        align = max(1, int(round(16 / elem_bytes)))
        return "aligned" if bandwidth or (int(k) % align == 0 and int(n) % align == 0) else "misaligned"
    step = math.gcd(int(k), int(n)) * (elem_bytes or 2)
    if step % 16 == 0:
        return "aligned"
    return "partial" if step % 4 == 0 else "misaligned"


def conv_time(
    flops: float,
    bytes_: float,
    conv: ConvShape,
    peak: float,
    vpeak: float,
    bw: float,
    cal: Calibration,
    dtype: str,
    units: int,
) -> tuple[float, float]:
    """Implicit-GEMM convolution. Depthwise/very thin grouped convolutions do not use the
    tensor cores well: they run at the vector rate and are bandwidth-limited. Dense 3x3
    stride-1 convolutions on the CUDA cores run cuDNN's Winograd algorithms, which do
    fewer multiplies than the direct FLOP count (winograd_gain)."""
    group = int(conv.group)
    c = float(conv.c) if _concrete(conv.c) and conv.c else 1.0
    cin_per_group = c / group if group else c
    frac = cal.frac(cal.conv_fraction, dtype)
    if cin_per_group <= 4 and group > 1:
        return flops / (vpeak * cal.vector_fraction), bytes_ / (bw * cal.depthwise_bandwidth_fraction)
    eff = frac
    if group > 1:
        eff *= cal.conv_grouped_ratio
    misaligned = cal.conv_misaligned_ratio.get(dtype)
    if misaligned is not None and (cin_per_group * _elem_bytes(dtype)) % 16:
        eff *= misaligned
    if all(_concrete(x) for x in conv.gemm.dims()):
        batch, m, n, k = (float(x) for x in conv.gemm.dims())
        # thin layers (few output or input channels per group) starve the tensor cores
        ch = min(n, cin_per_group)
        thin = ch / (ch + cal.conv_channel_ramp) * (1 + cal.conv_channel_ramp / 256.0)
        eff = eff * min(thin, 1.0) * tile_efficiency(batch, m, n, k, units, cal) * (k / (k + cal.gemm_k_ramp))
    gain = winograd_gain(conv, cal, dtype)
    # the non-fused Winograd path is several kernels (input, filter and output transforms
    # around a batched GEMM): their launch and ramp time is a fixed cost per convolution
    extra = cal.conv_winograd_overhead_s if gain > 1.0 else 0.0
    return flops / (peak * max(eff * gain, 1e-4)) + extra, bytes_ / (bw * cal.stream_bandwidth_fraction)


def _elem_bytes(dtype: str) -> int:
    if dtype in ("fp32", "tf32"):
        return 4
    if dtype == "fp64":
        return 8
    if dtype.startswith(("fp8", "int8", "int4", "fp4")):
        return 1
    return 2


def winograd_gain(conv: ConvShape, cal: Calibration, dtype: str) -> float:
    """Speed-up over the direct FLOP count of a dense 3x3, stride-1, undilated convolution
    where the calibration gives one for the dtype: cuDNN's Winograd kernels compute a 4x4
    output tile of a 3x3 filter with 36 element-wise products instead of 144 (F(4x4,3x3),
    Lavin & Gray, 'Fast Algorithms for Convolutional Neural Networks', CVPR 2016), at the
    price of input/output transforms; the fitted gain is the net effect. 1 elsewhere
    (tensor-core convolutions run implicit GEMM)."""
    gain = float(cal.conv_winograd_gain.get(dtype, 1.0))
    if gain == 1.0:
        return 1.0
    ones = (1,) * len(conv.kernel)
    if (
        tuple(conv.kernel) == (3, 3)
        and conv.group == 1
        and tuple(conv.strides) == ones
        and tuple(conv.dilations) == ones
        and not conv.transposed
    ):
        return gain
    return 1.0


def attention_time(
    flops: float, bytes_: float, att: AttentionShape, peak: float, bw: float, cal: Calibration, dtype: str
) -> tuple[float, float]:
    """Flash attention. Prefill-shaped: the score/PV products on the tensor cores, with
    efficiency ramping in query length and head dim. Decode-shaped (few queries): a
    bandwidth-bound read of the KV cache, limited by how many (batch, kv head) pairs
    there are to spread over the SMs. The rules guarantee kv_heads > 0 (query heads a
    multiple of them); a record with no query heads has no FLOPs and is never timed here."""
    b = float(att.batch)
    hq = float(att.q_heads)
    hkv = float(att.kv_heads)
    sq = float(att.q_len)
    d = float(att.head_dim)
    frac = cal.frac(cal.attention_fraction, dtype)
    # the rows of one tile: query positions x the query heads sharing a KV head
    rows = max(sq * max(hq / hkv, 1.0), cal.attention_min_rows)
    eff = (
        frac
        * (rows / (rows + cal.attention_q_ramp))
        * (d / (d + cal.attention_head_dim_ramp))
        * (1 + cal.attention_head_dim_ramp / 128.0)
    )
    skv = float(att.kv_len)
    if sq * max(hq / hkv, 1.0) > 64:
        # prefill-shaped: one block per (batch, query head, 128-query tile)
        par = b * hq * math.ceil(sq / 128.0)
    else:
        # decode-shaped: split-KV blocks per (batch, kv head)
        par = b * hkv * max(1.0, skv / cal.attention_split_len)
    bw_eff = cal.decode_bandwidth_fraction * par / (par + cal.decode_parallel_ramp)
    return flops / (peak * max(eff, 1e-4)), bytes_ / (bw * max(bw_eff, 1e-3))


# PyTorch's vectorized layer/RMS norm kernel loads rows 4 elements at a time
# (aten/src/ATen/native/cuda/layer_norm_kernel.cu: `constexpr int vec_size = 4`)
NORM_VEC_ELEMENTS = 4


def rowwise_time(
    bytes_: float,
    rows: float,
    cols: float,
    elem_bytes: float,
    bw: float,
    cal: Calibration,
    passes: float = 1.0,
    alignment_matters: bool = True,
) -> tuple[float, float]:
    """Row-wise kernels (norms, softmax, row reductions): one block per row. A norm's row
    whose length is not a multiple of 4 elements, whatever the dtype, loses the
    vectorized kernel: PyTorch's layer_norm_kernel.cu vectorizes by `vec_size = 4`
    elements ("we could make it dependent on dtype, but that would lead to different
    results between float and low-p types") and otherwise runs a row-moments kernel and
    a forward kernel with scalar loads (lower bandwidth, higher per-row cost). Softmax
    re-reads its input (max, sum, normalize): `passes`."""
    aligned = (int(cols) % NORM_VEC_ELEMENTS == 0) or not alignment_matters
    frac = cal.stream_bandwidth_fraction if aligned else cal.unaligned_row_bandwidth_fraction
    per_row = cal.row_cost_s if aligned else cal.unaligned_row_cost_s
    return rows * per_row, bytes_ * passes / (bw * frac)


def stream_time(bytes_: float, bw: float, cal: Calibration, fraction: float | None = None) -> float:
    return bytes_ / (bw * (fraction if fraction is not None else cal.stream_bandwidth_fraction))


def combine(compute_s: float, memory_s: float) -> float:
    """Compute and memory overlap inside a kernel, not perfectly: a smooth maximum."""
    hi, lo = (compute_s, memory_s) if compute_s >= memory_s else (memory_s, compute_s)
    if hi <= 0:
        return 0.0
    return float(hi * (1 + (lo / hi) ** 4) ** 0.25)


def _concrete(x: object) -> bool:
    """A number (an int, or a sympy expression with no free symbols)."""
    return type(x) is int or bool(getattr(x, "is_number", True))
