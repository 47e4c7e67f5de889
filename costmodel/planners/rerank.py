"""LLM rerankers: the calls one query makes under a strategy, their prompt and generated
tokens, FLOPs per query counted from the graph (or with E2R-FLOPs' closed form), QPP and
RPP, and latency and cost on hardware.

Strategies (each reranks the top `docs` retrieved documents of a query):
- pointwise: one call per document (query + document); monoBERT / monoT5 cross-encoders
  and LLM relevance generation. Encoder models (BERT) score with one forward.
- pairwise (PRP, Qin et al. 2024): all ordered pairs, docs x (docs - 1) calls of query +
  two documents ("allpair"), or `passes` bubble-sort passes of docs - 1 comparisons
  ("sliding", PRP-Sliding-K).
- listwise (RankGPT, Sun et al. 2023): a window of `window` documents slides from the
  bottom of the list to the top by `step`: ceil((docs - window) / step) + 1 calls, each
  generating a permutation of the window.
- setwise (Zhuang et al. 2024, heapsort as E2R-FLOPs runs it): each call compares a
  parent and up to `set_size` children of a heap and names the best; the top `top_k` are
  extracted. The call count depends on the answers; it is counted here by running the
  heapsort of the reference implementation (EER-FLOPs src/llmrankers/setwise.py) with an
  oracle, on the retrieved order reversed (the most calls: the figure reported) and as
  retrieved (the fewest).

E2R-FLOPs (Peng et al. 2025, "Efficiency-Effectiveness Reranking FLOPs for LLM-based
Rerankers", arXiv 2507.06223): QPP = 1e15 / FLOPs per query (queries per PetaFLOP);
RPP = metric / (FLOPs per query / 1e15) (ranking metric per PetaFLOP). Its closed-form
estimator (`e2r_decoder_flops`, `e2r_encoder_decoder_flops`; EER-FLOPs
src/utils/calculator.py) counts N = 2 d L ((1 + 1/r) d + d_ff) per token: two MLP
matrices where a gated MLP has three, and attention scores divided by the GQA ratio r;
no LM head. The "exact" count here runs the model's graph: every matrix, causal
attention over the context, the LM head at the positions that produce tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..errors import PlanError
from ..frontends.lower import Logits, Phase, Workload
from ..frontends.spec import ModelSpec
from ..frontends.spec.architectures import DecodeState, LayerKind, Lowering, MLPKind
from .workload import request_flops, run_workload


class Strategy(StrEnum):
    POINTWISE = "pointwise"
    PAIRWISE = "pairwise"
    LISTWISE = "listwise"
    SETWISE = "setwise"


# generated tokens per call when not given: one relevance / label token, or for listwise a
# permutation "[3] > [1] > ..." of about 4 tokens per document (RankGPT's output format)
LISTWISE_TOKENS_PER_DOC = 4


@dataclass(frozen=True, kw_only=True)
class RerankSetup:
    strategy: Strategy
    docs: int
    doc_len: int
    query_len: int
    output_len: int | None = None  # generated tokens per call (None: the strategy's default)
    instruction_len: int = 0  # prompt template tokens per call
    window: int = 20
    step: int = 10
    set_size: int = 3  # setwise: children compared with their parent per call
    top_k: int = 10  # setwise: documents extracted
    pairwise: str = "allpair"  # or "sliding"
    passes: int = 10  # pairwise sliding: bubble-sort passes

    def __post_init__(self) -> None:
        for k in ("docs", "doc_len", "query_len", "window", "step", "set_size", "top_k", "passes"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise PlanError(f"--{k.replace('_', '-')} must be a positive integer, got {v!r}")
        if self.output_len is not None and self.output_len < 0:
            raise PlanError(f"--output-len must be >= 0, got {self.output_len}")
        if self.instruction_len < 0:
            raise PlanError(f"--instruction-len must be >= 0, got {self.instruction_len}")
        if self.pairwise not in ("allpair", "sliding"):
            raise PlanError(f"pairwise method must be allpair or sliding, got {self.pairwise!r}")

    def generated(self, docs_in_call: int) -> int:
        if self.output_len is not None:
            return self.output_len
        if self.strategy is Strategy.LISTWISE:
            return LISTWISE_TOKENS_PER_DOC * docs_in_call
        return 1


@dataclass(frozen=True)
class CallGroup:
    """`count` calls of one shape: a prompt of `prompt_tokens` with `docs` documents,
    generating `output_tokens`."""

    count: int
    docs: int
    prompt_tokens: int
    output_tokens: int


def _setwise_heapsort_calls(n: int, c: int, k: int, reverse: bool) -> list[int]:
    """Documents per call of the reference setwise heapsort with an oracle comparator
    (relevance = position in the retrieved list, or its reverse)."""
    arr = list(range(n))
    rel: Callable[[int], int] = (lambda d: d) if reverse else (lambda d: -d)  # larger is more relevant
    sizes: list[int] = []

    def heapify(m: int, i: int) -> None:
        while c * i + 1 < m:
            idx = [i, *range(c * i + 1, min(c * (i + 1) + 1, m))]
            sizes.append(len(idx))
            best = max(idx, key=lambda j: rel(arr[j]))
            if best == i:
                return
            arr[i], arr[best] = arr[best], arr[i]
            i = best

    for i in range(n // c, -1, -1):
        heapify(n, i)
    ranked = 0
    for i in range(n - 1, 0, -1):
        arr[i], arr[0] = arr[0], arr[i]
        ranked += 1
        if ranked == k:
            break
        heapify(i, 0)
    return sizes


MAX_DOCS = 100_000  # documents per query (setwise runs its heapsort to count the calls)


def _group(setup: RerankSetup, counts: dict[int, int]) -> tuple[CallGroup, ...]:
    base = setup.query_len + setup.instruction_len
    return tuple(
        CallGroup(n, d, base + d * setup.doc_len, setup.generated(d)) for d, n in sorted(counts.items(), reverse=True)
    )


def plan_calls(setup: RerankSetup) -> tuple[tuple[CallGroup, ...], dict[str, Any]]:
    """The calls of one query, grouped by shape, and facts about the count."""
    n, s = setup.docs, setup.strategy
    if n > MAX_DOCS:
        raise PlanError(f"--docs {n} is more than {MAX_DOCS} documents per query")
    facts: dict[str, Any] = {}
    counts: dict[int, int] = {}  # documents in a call -> calls
    if s is Strategy.POINTWISE:
        counts[1] = n
    elif s is Strategy.PAIRWISE:
        if n < 2:
            raise PlanError("pairwise reranking needs at least 2 documents")
        counts[2] = n * (n - 1) if setup.pairwise == "allpair" else min(setup.passes, n - 1) * (n - 1)
        facts["pairwise"] = setup.pairwise
    elif s is Strategy.LISTWISE:
        w = min(setup.window, n)
        counts[w] = 1 if n <= w else math.ceil((n - w) / setup.step) + 1
        facts.update(window=w, step=setup.step)
    else:
        worst = _setwise_heapsort_calls(n, setup.set_size, setup.top_k, reverse=True)
        best = _setwise_heapsort_calls(n, setup.set_size, setup.top_k, reverse=False)
        for d in worst:
            counts[d] = counts.get(d, 0) + 1
        facts.update(set_size=setup.set_size, top_k=setup.top_k, calls_fewest=len(best), calls_most=len(worst))
    return _group(setup, counts), facts


# -- FLOPs of one call ------------------------------------------------------------------


def _check_model(spec: ModelSpec, setup: RerankSetup) -> None:
    arch = spec.arch
    if arch.lowering not in (Lowering.STACK, Lowering.ENCODER_DECODER):
        raise PlanError(f"{spec.name} is a {spec.architecture} model, not a text reranker")
    if not arch.generates:
        if setup.strategy is not Strategy.POINTWISE:
            raise PlanError(
                f"{spec.name} is an encoder (cross-encoder): it scores one query-document pair per call; "
                "use --strategy pointwise"
            )
        if setup.output_len:
            raise PlanError(f"{spec.name} is an encoder: it generates no tokens (drop --output-len)")


def e2r_decoder_flops(
    input_tokens: int, output_tokens: int, layers: int, d: int, ffsize: int, ratio: int, mlp_matrices: int = 2
) -> float:
    """E2R-FLOPs' decoder-only estimate (EER-FLOPs src/utils/calculator.py,
    flops_decoder), with `mlp_matrices` = 3 to count a gated MLP's gate."""
    n = 2 * d * layers * ((1 + 1 / ratio) * d + ffsize * mlp_matrices / 2)
    ctx = 2 * n * input_tokens + 4 * layers * input_tokens**2 / ratio * d
    opt = 2 * n * output_tokens + 2 * layers / ratio * d * (
        2 * output_tokens * input_tokens + output_tokens * (output_tokens - 1)
    )
    return ctx + opt


def e2r_encoder_decoder_flops(
    input_tokens: int, output_tokens: int, layers: int, d: int, ffsize: int, mlp_matrices: int = 2
) -> float:
    """E2R-FLOPs' encoder-decoder estimate (calculator.py, flops_encoder_decoder)."""
    f = ffsize * mlp_matrices / 2
    n = 2 * d * layers * (2 * d + f)
    n_dec = 2 * d * layers * (3 * d + f)
    ctx = 2 * n * input_tokens + 4 * layers * input_tokens**2 * d
    crosskv = 4 * layers * input_tokens * d * d
    opt = 2 * n_dec * output_tokens + 2 * layers * d * (
        2 * output_tokens * input_tokens + output_tokens * (output_tokens - 1)
    )
    return ctx + crosskv + opt


def e2r_call_flops(spec: ModelSpec, prompt: int, output: int, gate: bool = False) -> float:
    """E2R's closed form for one call of this model (gate=True: a gated MLP's third
    matrix counted)."""
    kinds = spec.arch.kinds(spec.layer_types)
    if kinds != {LayerKind.ATTENTION} or spec.moe is not None or spec.mla is not None:
        raise PlanError(f"E2R-FLOPs' estimator covers dense attention models; {spec.name} is not one")
    ffn = spec.intermediate_size
    m = 3 if gate and spec.mlp is MLPKind.GATED else 2
    if spec.arch.decode is DecodeState.CROSS:
        return e2r_encoder_decoder_flops(prompt, output, spec.num_layers, spec.hidden_size, ffn, m)
    if not spec.arch.generates:
        raise PlanError("E2R-FLOPs' estimator covers decoder-only and encoder-decoder models, not encoders")
    ratio = spec.num_heads // spec.kv_heads
    return e2r_decoder_flops(prompt, output, spec.num_layers, spec.hidden_size, ffn, ratio, m)


# -- one query --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RerankResult:
    model: str
    setup: RerankSetup
    groups: tuple[CallGroup, ...]
    facts: dict[str, Any]
    flops_per_call: tuple[int, ...]  # per group
    macs_per_call: tuple[int, ...]
    e2r_per_call: tuple[float, ...] | None
    e2r_gate_per_call: tuple[float, ...] | None

    @property
    def calls(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def flops(self) -> int:
        return sum(g.count * f for g, f in zip(self.groups, self.flops_per_call))

    @property
    def macs(self) -> int:
        return sum(g.count * f for g, f in zip(self.groups, self.macs_per_call))

    def tokens(self, attr: str) -> int:
        return sum(g.count * getattr(g, attr) for g in self.groups)

    def e2r(self, gate: bool = False) -> float | None:
        per = self.e2r_gate_per_call if gate else self.e2r_per_call
        return None if per is None else sum(g.count * f for g, f in zip(self.groups, per))


def rerank(spec: ModelSpec, setup: RerankSetup) -> RerankResult:
    """The calls, tokens and FLOPs of reranking one query."""
    _check_model(spec, setup)
    groups, facts = plan_calls(setup)
    out_len = [0 if not spec.arch.generates else g.output_tokens for g in groups]
    groups = tuple(CallGroup(g.count, g.docs, g.prompt_tokens, o) for g, o in zip(groups, out_len))
    if spec.max_position:
        longest = max(g.prompt_tokens + g.output_tokens for g in groups)
        if longest > spec.max_position:
            raise PlanError(
                f"a {setup.strategy.value} call of {longest} tokens exceeds {spec.name}'s context of "
                f"{spec.max_position} (max_position)"
            )
    fm = [request_flops(spec, g.prompt_tokens, g.output_tokens) for g in groups]
    e2r = e2r_gate = None
    try:
        e2r = tuple(e2r_call_flops(spec, g.prompt_tokens, g.output_tokens) for g in groups)
        e2r_gate = tuple(e2r_call_flops(spec, g.prompt_tokens, g.output_tokens, gate=True) for g in groups)
    except PlanError:
        pass  # a model E2R's formula does not cover: only the exact count
    return RerankResult(
        model=spec.name,
        setup=setup,
        groups=groups,
        facts=facts,
        flops_per_call=tuple(f for f, _ in fm),
        macs_per_call=tuple(m for _, m in fm),
        e2r_per_call=e2r,
        e2r_gate_per_call=e2r_gate,
    )


def qpp(flops_per_query: float) -> float:
    """Queries per PetaFLOP (E2R-FLOPs)."""
    return 1e15 / flops_per_query


def rpp(metric: float, flops_per_query: float) -> float:
    """Ranking metric per PetaFLOP (E2R-FLOPs)."""
    return metric / (flops_per_query / 1e15)


def rerank_latency(case: Any, result: RerankResult, batch: int = 1) -> float:
    """Seconds per query on the case's hardware: calls run one after another (listwise
    windows and setwise comparisons depend on the previous answer); pointwise and
    pairwise calls are independent and run `batch` at a time."""
    from .llm import estimate_serving

    spec = case.spec
    independent = result.setup.strategy in (Strategy.POINTWISE, Strategy.PAIRWISE)
    b = batch if independent else 1
    total = 0.0
    for g in result.groups:
        rounds = math.ceil(g.count / b)
        size = min(b, g.count)
        if not spec.arch.generates:
            r = run_workload(
                spec,
                Workload(Phase.FORWARD, size, g.prompt_tokens, 0, Logits.NONE),
                case.system.device,
                dispatch="eager",
                mode=case.setup.mode,
            )
            t = r.latency_s or 0.0
        else:
            setup = case.setup.but(batch=size, prompt_len=g.prompt_tokens, output_len=max(g.output_tokens, 1))
            t = estimate_serving(spec, case.system, case.layout, setup).request_latency_s
        total += rounds * t
    return total
