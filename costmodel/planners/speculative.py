"""Speculative decoding with draft heads and tree verification (Medusa: Cai et al.
2024; EAGLE: Li et al. 2024), and the tokenizer check for draft models.

A tree of candidates has `branching[i]` children per node at depth i + 1 (the top
candidates of the draft at that depth); the target verifies every node in one forward
with tree attention. With `acceptance[i]` the probability that the token the target
accepts at depth i + 1 is among that depth's candidates (given the path above it was
accepted; the top-n accuracy of that head), at most one node per depth is on the accepted
path, so the expected tokens per step are

    E = 1 + sum_{d=1..D} prod_{i<=d} acceptance[i]

(the 1 is the token the target itself produces after the accepted prefix). A chain
(branching 1 at every depth) with equal acceptance a gives Leviathan et al.'s
(1 - a^(k+1)) / (1 - a).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..analysis import analyze_graph
from ..engine.latency import graph_latency
from ..errors import PlanError
from ..frontends.lower import Logits, Phase, Segment, Workload
from ..frontends.lower.speculative import eagle_draft, medusa_heads
from ..frontends.spec import ModelSpec
from ..ir.dtypes import dtype as to_dtype
from .workload import run_workload

METHODS = ("medusa", "eagle")
MAX_TREE_NODES = 4096


def expected_tokens(acceptance: Sequence[float]) -> float:
    """Expected tokens per verification step (module notes)."""
    if any(not (0.0 <= a <= 1.0) for a in acceptance):
        raise PlanError("acceptance rates must lie in [0, 1]")
    total, p = 1.0, 1.0
    for a in acceptance:
        p *= a
        total += p
    return total


def nodes_per_depth(branching: Sequence[int]) -> list[int]:
    """Tree nodes at each depth: the running product of the branching factors."""
    if not branching or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in branching):
        raise PlanError("--tree lists positive branching factors, one per depth (e.g. 4,2,2)")
    out, n = [], 1
    for b in branching:
        n *= b
        out.append(n)
    if sum(out) > MAX_TREE_NODES:
        raise PlanError(f"a tree of {sum(out)} nodes is larger than {MAX_TREE_NODES}")
    return out


def _segments_cost(segs: Sequence[Segment], hw: Any, dispatch: str, mode: str) -> tuple[float, float]:
    """(FLOPs, seconds) of segments run once each."""
    flops = seconds = 0.0
    for seg in segs:
        gc = analyze_graph(seg.graph)
        flops += float(gc.total.flops) * seg.repeat
        seconds += graph_latency(gc, hw, mode=mode, execution=dispatch).latency_s * seg.repeat
    return flops, seconds


def draft_cost(
    spec: ModelSpec,
    method: str,
    branching: Sequence[int],
    batch: int,
    context: int,
    hw: Any,
    *,
    dispatch: str,
    mode: str,
) -> tuple[float, float]:
    """(FLOPs, seconds) of drafting one tree: Medusa's heads once over the last hidden
    state; EAGLE's draft once per depth over that depth's parent nodes."""
    wl = Workload(Phase.DECODE, batch, 1, context, Logits.ALL, to_dtype("bf16"))
    if method == "medusa":
        return _segments_cost(medusa_heads(spec, wl, len(branching)), hw, dispatch, mode)
    if method != "eagle":
        raise PlanError(f"draft heads are one of {', '.join(METHODS)}, got {method!r}")
    flops = seconds = 0.0
    parents = 1
    for depth, n in enumerate(nodes_per_depth(branching)):
        f, s = _segments_cost(eagle_draft(spec, batch, parents, context + depth, wl), hw, dispatch, mode)
        flops, seconds = flops + f, seconds + s
        parents = n
    return flops, seconds


def speculative_tree(
    case: Any, method: str, branching: Sequence[int], acceptance: Sequence[float], prompt_len: int, output_len: int
) -> dict[str, Any]:
    """Per-token latency of decoding with draft heads and tree verification, against
    plain decoding, at the case's batch and the mean context of the request."""
    if len(acceptance) == 1:
        acceptance = list(acceptance) * len(branching)
    if len(acceptance) != len(branching):
        raise PlanError(f"give one acceptance rate per tree depth ({len(branching)}), or one for all")
    nodes = nodes_per_depth(branching)
    tokens = expected_tokens(acceptance)
    spec: ModelSpec = case.spec
    base = case.plan(prompt_len=prompt_len, output_len=output_len)
    ctx = prompt_len + output_len // 2
    hw = case.system.device
    mode = case.setup.mode
    dispatch = case.setup.decode_dispatch
    df, ds = draft_cost(spec, method, branching, base.batch, ctx, hw, dispatch=dispatch, mode=mode)
    verify = run_workload(
        spec,
        Workload(Phase.DECODE, base.batch, 1 + sum(nodes), ctx - 1, Logits.ALL),
        hw,
        dispatch=dispatch,
        mode=mode,
        runtime=case.setup.runtime,
    )
    step = ds + (verify.latency_s or 0.0)
    per_token = step / tokens
    return {
        "method": method,
        "tree": list(branching),
        "tree_nodes": sum(nodes),
        "acceptance": list(acceptance),
        "expected_tokens_per_step": tokens,
        "draft_s": ds,
        "verify_s": verify.latency_s,
        "step_s": step,
        "per_token_s": per_token,
        "baseline_per_token_s": base.decode.latency_s,
        "speedup": base.decode.latency_s / per_token,
        "flops_per_token": (df + float(verify.flops)) / tokens / base.batch,
        "baseline_flops_per_token": base.decode.flops / base.batch,
    }


def tokenizer_warning(target: ModelSpec, draft: ModelSpec) -> str | None:
    """Speculative decoding compares the draft's tokens with the target's: a draft with
    another vocabulary cannot be verified token for token."""
    if target.vocab_size and draft.vocab_size and target.vocab_size != draft.vocab_size:
        return (
            f"the draft {draft.name} has a {draft.vocab_size}-token vocabulary and the target {target.name} "
            f"{target.vocab_size}: speculative decoding needs one tokenizer (or token translation, which "
            "the acceptance rate given does not account for)"
        )
    return None


def parse_rates(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise PlanError(f"--acceptance {text[:200]!r} is not a comma-separated list of numbers") from None
    if not 0 < len(vals) <= 64 or any(not 0 <= v < 1 for v in vals):
        raise PlanError(f"--acceptance {text[:200]!r} must list 1 to 64 rates, each in [0, 1)")
    return vals
