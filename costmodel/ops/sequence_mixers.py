"""Recurrent token mixers of the `costmodel` domain beyond those in internal.py: the
RG-LRU of Griffin / Hawk / RecurrentGemma (De et al. 2024). Each cost is written at its
rule, with its source."""

from __future__ import annotations

from ..symbolic import norm, prod
from .cost import Cost
from .context import NodeContext
from .registry import RECURRENT, op

DOMAIN = "costmodel"


@op("RGLRU", kind=RECURRENT, domain=DOMAIN)
def rg_lru(ctx: NodeContext) -> Cost:
    """Real-gated linear recurrent unit (De et al. 2024, eq. 1-4) over x (B, L, D), given
    the pre-activation recurrence and input gates (B, L, D) (their block-diagonal
    projections are MatMuls before this op) and the per-channel parameter Lambda (D).
    Per element: two sigmoids (2 FLOPs + 1 transcendental each), log a = -8 r softplus(Lambda)
    (2), a = exp(log a) (1 transcendental), sqrt(1 - a^2) (2 + 1 transcendental), the
    gated input x i sqrt(.) (2) and h = a h + that (2): 12 FLOPs, 4 transcendentals.
    Decode reads and writes the fp32 state (B, D)."""
    x = ctx.shape(0)
    ctx.set_output(0, ctx.dtype(0), x)
    n = prod(x)
    return Cost(flops=norm(12 * n), transcendentals=norm(4 * n))
