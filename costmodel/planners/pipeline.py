"""The one pipeline-stage splitter: which layers each pipeline stage holds.

Megatron-LM's assignment (megatron/core/transformer/transformer_layer.py,
get_transformer_layer_offset, even split): the L layers split into pp x v equal
contiguous chunks of L / (pp v); virtual chunk c of stage p starts at layer
c L / v + p L / (pp v). Without interleaving (v = 1) stage p holds layers
p L / pp .. (p + 1) L / pp - 1. Megatron requires pp x v to divide L (its uneven split
needs explicit first/last stage sizes); so does this splitter. The first stage also holds
the embedding, the last the final norm and head.
"""

from __future__ import annotations

from ..errors import PlanError


def stage_layers(num_layers: int, pp: int, interleave: int = 1) -> tuple[tuple[int, ...], ...]:
    """The layer indices of every stage, in execution order within the stage."""
    if pp < 1 or interleave < 1:
        raise PlanError(f"pipeline stages and chunks must be positive, got pp {pp} x interleave {interleave}")
    chunks = pp * interleave
    if num_layers % chunks:
        what = f"pp x interleave = {pp} x {interleave}" if interleave > 1 else f"--pp {pp}"
        raise PlanError(f"num_layers {num_layers} is not divisible by {what} (Megatron-LM's even split)")
    per_chunk = num_layers // chunks
    return tuple(
        tuple(
            layer
            for c in range(interleave)
            for layer in range(
                c * num_layers // interleave + p * per_chunk, c * num_layers // interleave + (p + 1) * per_chunk
            )
        )
        for p in range(pp)
    )
