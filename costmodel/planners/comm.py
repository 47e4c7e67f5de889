"""Communication of parallel layouts, on the engine's α–β collectives (engine/
collectives.py) and the system's network tiers: the one tensor-parallel model, shared by
serving and training, and the pipeline's stage-to-stage sends."""

from __future__ import annotations

from ..engine.collectives import all_gather, all_reduce, reduce_scatter, send_recv
from ..hardware.network import Tier

# Megatron-LM tensor parallelism (Shoeybi et al. 2019, sec. 3): one all-reduce of the
# layer's activations after attention and one after the MLP in the forward pass, two
# more in the backward (the "g" and "f" operators), and two again in a forward that is
# recomputed in full.
TP_COLLECTIVES_FORWARD = 2
TP_COLLECTIVES_BACKWARD = 2


def tensor_parallel_s(
    msg_bytes: float, tp: int, tier: Tier, collectives: int, sequence_parallel: bool = False
) -> float:
    """Time of `collectives` tensor-parallel exchanges of `msg_bytes` (the full activation
    of one layer): all-reduces, or with sequence parallelism (Korthikanti et al. 2022,
    sec. 4.2.2) a reduce-scatter plus an all-gather each, which move the same bytes."""
    if tp <= 1 or collectives <= 0:
        return 0.0
    if sequence_parallel:
        one = reduce_scatter(msg_bytes, tp, tier) + all_gather(msg_bytes, tp, tier)
    else:
        one = all_reduce(msg_bytes, tp, tier)
    return collectives * one


def pipeline_sends_s(msg_bytes: float, boundaries: int, tier: Tier) -> float:
    """`boundaries` stage-to-stage sends of one activation (or its gradient)."""
    return boundaries * send_recv(msg_bytes, tier) if boundaries > 0 else 0.0
