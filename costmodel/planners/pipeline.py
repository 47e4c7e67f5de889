"""Pipeline stages and schedules: which layers each stage holds, and what a schedule
costs in bubble and in activations held.

Stage assignment follows Megatron-LM (megatron/core/transformer/transformer_layer.py,
get_transformer_layer_offset): the L layers split into pp x v contiguous virtual stages
(v = interleaved chunks per stage); virtual stage c pp + p is chunk c of stage p, so stage
p holds chunks p, pp + p, 2 pp + p, ... When pp x v does not divide L the split is uneven
the way published runs make it: every virtual stage gets ceil(L / (pp v)) layers and the
surplus is taken one layer at a time from the last virtual stage, then the first, then
the second-to-last, the second, ... -- the stages that also hold the head and the
embedding get lighter first. This gives Llama 3 405B's 126 layers on 16 stages as 7, 8 x 14,
7 (Llama 3 paper, sec. 3.3.2: "we reduce one Transformer layer each from the first and
the last stages"), BLOOM's 70 on 12 as 5, 6 x 10, 5, and DeepSeek-V3's 61 on 16 as
3, 4 x 13, 3, 3. An explicit per-(virtual-)stage list of layer counts (Megatron's
--decoder-first/last-pipeline-num-layers, or any split) overrides the rule. The first
stage also holds the embedding, the last the final norm and head.

Schedules (p stages, m micro-batches, F / B / W the forward, full backward and
weight-gradient time of one micro-batch on a stage):
- 1F1B (Narayanan et al. 2021): bubble (p - 1)(F + B); stage s holds min(m, p - s)
  micro-batches of activations.
- interleaved 1F1B with v chunks (ibid.): bubble (p - 1)(F + B) / v; the first stage holds
  p (1 + (p - 1) / (p v)) micro-batches.
- ZB-H1 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism"; DeepSeek-AI's DualPipe README
  table, ZB1P): bubble (p - 1)(F + B - 2W), activations as 1F1B.
- DualPipe (DeepSeek-V3 technical report, Table 2): bubble (p/2 - 1)(F&B + B - 3W), two
  copies of the parameters, p + 1 micro-batches of activations; F&B (a forward and a
  backward chunk run overlapped) is taken as F + B, the overlap credited elsewhere to the
  communication it hides.
For stages of unequal time the 1F1B fill and drain pass each stage once: the bubble is
(sum of the stages' per-micro-batch times - the largest), scaled for the other schedules
by their ratio to 1F1B's on the busiest stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from ..errors import PlanError


class Schedule(StrEnum):
    ONE_F_ONE_B = "1f1b"
    INTERLEAVED = "interleaved"
    ZB_H1 = "zb-h1"
    DUALPIPE = "dualpipe"


def virtual_stage_sizes(num_layers: int, chunks: int) -> tuple[int, ...]:
    """Layer counts of `chunks` virtual stages in pipeline order (see the module notes)."""
    if chunks < 1:
        raise PlanError(f"pipeline stages must be positive, got {chunks}")
    if chunks > num_layers:
        raise PlanError(f"{chunks} pipeline (virtual) stages for {num_layers} layers: a stage would be empty")
    base = -(-num_layers // chunks)
    sizes = [base] * chunks
    surplus = base * chunks - num_layers
    order = [i for k in range((chunks + 1) // 2) for i in (chunks - 1 - k, k)]
    seen: set[int] = set()
    for i in order:
        if surplus == 0:
            break
        if i in seen:
            continue
        seen.add(i)
        sizes[i] -= 1  # surplus < chunks: at most one layer from each virtual stage
        surplus -= 1
    return tuple(sizes)


def stage_layers(
    num_layers: int, pp: int, interleave: int = 1, split: Sequence[int] | None = None
) -> tuple[tuple[int, ...], ...]:
    """The layer indices of every stage, in execution order within the stage. `split`:
    layer counts per virtual stage (pp x interleave of them, in pipeline order)."""
    if pp < 1 or interleave < 1:
        raise PlanError(f"pipeline stages and chunks must be positive, got pp {pp} x interleave {interleave}")
    chunks = pp * interleave
    if split is not None:
        sizes = tuple(split)
        if len(sizes) != chunks:
            raise PlanError(f"--stage-layers lists {len(sizes)} stages, the layout has pp x interleave = {chunks}")
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise PlanError("--stage-layers must list positive layer counts")
        if sum(sizes) != num_layers:
            raise PlanError(f"--stage-layers adds up to {sum(sizes)} layers, the model has {num_layers}")
    else:
        sizes = virtual_stage_sizes(num_layers, chunks)
    starts = [0]
    for s in sizes:
        starts.append(starts[-1] + s)
    return tuple(
        tuple(layer for c in range(interleave) for layer in range(starts[c * pp + p], starts[c * pp + p + 1]))
        for p in range(pp)
    )


def bubble_ratio(schedule: Schedule, pp: int, interleave: int, f: float, b: float, w: float) -> float:
    """The schedule's bubble relative to 1F1B's (p - 1)(F + B) on a stage with forward f,
    full backward b and weight-gradient part w per micro-batch."""
    fb = f + b
    if pp <= 1 or fb <= 0:
        return 0.0
    if schedule is Schedule.INTERLEAVED:
        return 1.0 / interleave
    if schedule is Schedule.ZB_H1:
        return max(fb - 2 * w, 0.0) / fb
    if schedule is Schedule.DUALPIPE:
        return (pp / 2 - 1) * max(f + 2 * b - 3 * w, 0.0) / ((pp - 1) * fb)
    return 1.0


def inflight_microbatches(schedule: Schedule, pp: int, interleave: int, microbatches: int, stage: int = 0) -> float:
    """Micro-batches of activations stage `stage` holds at its peak."""
    if pp <= 1:
        return 1.0
    if schedule is Schedule.DUALPIPE:
        return float(min(pp + 1, 2 * microbatches))
    held = float(min(pp - stage, microbatches))
    if schedule is Schedule.INTERLEAVED and interleave > 1:
        held *= 1 + (pp - 1) / (pp * interleave)
    return held


def parameter_copies(schedule: Schedule) -> int:
    """DualPipe runs the pipeline from both ends, each device holding two stages."""
    return 2 if schedule is Schedule.DUALPIPE else 1


def resolve_schedule(schedule: str | Schedule | None, pp: int, interleave: int) -> Schedule:
    """The schedule a layout runs: the one asked for, else interleaved when chunks > 1,
    else 1F1B; checks what each schedule needs."""
    if schedule is None or schedule == "auto":
        return Schedule.INTERLEAVED if interleave > 1 else Schedule.ONE_F_ONE_B
    try:
        s = Schedule(schedule)
    except ValueError:
        raise PlanError(
            f"--schedule must be one of auto, {', '.join(m.value for m in Schedule)}, got {schedule!r}"
        ) from None
    if s is Schedule.INTERLEAVED and interleave < 2:
        raise PlanError("--schedule interleaved needs --interleave 2 or more")
    if s is not Schedule.INTERLEAVED and interleave > 1:
        raise PlanError(f"--interleave {interleave} needs the interleaved schedule, not {s.value}")
    if s is Schedule.DUALPIPE and pp % 2:
        raise PlanError(f"--schedule dualpipe needs an even --pp, got {pp}")
    return s
