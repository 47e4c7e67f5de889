"""Inputs of the array step model (training_core.py): the per-stage work of a layout as a
(stages x features) block, built once per (model shard, pipeline split) from the
per-layer work of training_cost.py, and the columns of model and recipe facts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..frontends.spec import ModelSpec
from ..hardware.systems import System
from ..ir.dtypes import dtype as to_dtype
from .layout import ParallelLayout, TrainingRecipe
from .pipeline import stage_layers
from .training_core import FEATURES, IMPL_CODES, RECOMPUTE_CODES, SCHEDULE_CODES, Columns
from .training_cost import ModelWork, Work, model_work
from .training_host import chain

K = len(FEATURES)
_F = {name: i for i, name in enumerate(FEATURES)}


def _row(w: Work, layer: bool, moe: bool) -> np.ndarray:
    r = np.zeros(K)
    r[_F["fwd"]] = w.fwd_s
    r[_F["bwd"]] = w.bwd_s
    r[_F["wgrad"]] = w.wgrad_s
    r[_F["attn"]] = w.attn_s
    r[_F["gemm"]] = w.gemm_s
    r[_F["layer_fwd"]] = w.fwd_s if layer else 0.0
    r[_F["step_cast"]] = w.step_cast_s
    r[_F["params"]] = w.params
    r[_F["expert_params"]] = w.expert_params
    r[_F["gemm_params"]] = w.gemm_params
    r[_F["layers"]] = 1.0 if layer else 0.0
    r[_F["moe_layers"]] = 1.0 if moe else 0.0
    r[_F["tensors"]] = w.tensors
    r[_F["host_f"]] = w.host_f_s
    return r


_ROWS: dict[int, tuple[ModelWork, np.ndarray, np.ndarray, np.ndarray]] = {}


def _rows(spec: ModelSpec, mw: ModelWork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(layer rows (L, K), embed row, head row)."""
    hit = _ROWS.get(id(mw))
    if hit is not None and hit[0] is mw:
        return hit[1], hit[2], hit[3]
    layers = np.array([_row(w, True, spec.is_moe_layer(i)) for i, w in enumerate(mw.layers)]).reshape(-1, K)
    embed, head = _row(mw.embed, False, False), _row(mw.head, False, False)
    if len(_ROWS) > 4096:
        _ROWS.clear()
    _ROWS[id(mw)] = (mw, layers, embed, head)
    return layers, embed, head


def _stage_lead(works: list[Work]) -> tuple[float, float]:
    """(drift, peak lead) of one micro-batch on a stage: the forward of its segments in
    order, then their backward in reverse (training_host.py)."""
    d: tuple[float, float] = (0.0, 0.0)
    for w in works:
        d = chain(d, (w.drift_f, w.peak_f))
    for w in reversed(works):
        d = chain(d, (w.drift_b, w.peak_b))
    return d


_BLOCKS: dict[tuple[Any, ...], np.ndarray] = {}


def stage_block(
    spec: ModelSpec, system: System, layout: ParallelLayout, recipe: TrainingRecipe, eager: bool
) -> np.ndarray:
    """(pp, K) per-stage features of one micro-batch on each stage's device; under eager
    dispatch with the host's side of it (training_host.py)."""
    mw = model_work(spec, layout, recipe, system.device, eager)
    key = (id(mw), layout.pp, layout.interleave, layout.stage_split)
    hit = _BLOCKS.get(key)
    if hit is not None:
        return hit
    rows, embed, head = _rows(spec, mw)
    stages = stage_layers(spec.num_layers, layout.pp, layout.interleave, layout.stage_split)
    out = np.zeros((layout.pp, K))
    last = layout.pp - 1
    for p, idx in enumerate(stages):
        ix = np.asarray(idx, dtype=int)
        r = rows[ix].sum(axis=0) if len(ix) else np.zeros(K)
        works = [mw.layers[i] for i in idx]
        if p == 0:
            r = r + embed
            works.insert(0, mw.embed)
        if p == last:
            r = r + head
            works.append(mw.head)
        if p == 0 and p == last and mw.shared:
            r[_F["params"]] -= mw.shared
            r[_F["gemm_params"]] -= mw.shared
            r[_F["tensors"]] -= 1
        if eager:
            r[_F["drift"]], r[_F["peak"]] = _stage_lead(works)
            r[_F["eager"]] = 1.0
        r[_F["valid"]] = 1.0
        out[p] = r
    if len(_BLOCKS) > 16384:
        _BLOCKS.clear()
    _BLOCKS[key] = out
    return out


def model_facts(spec: ModelSpec) -> dict[str, float]:
    kv_dim = spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim if spec.mla is not None else spec.kv_heads * spec.hd
    return {
        "hidden": float(spec.hidden_size),
        "vocab": float(spec.vocab_size),
        "kv_dim": float(kv_dim),
        "heads": float(spec.num_heads),
        "top_k": float(spec.moe.top_k if spec.moe is not None else 0),
    }


def recipe_facts(recipe: TrainingRecipe) -> dict[str, float]:
    f = recipe.facts
    return {
        "seq": float(recipe.seq_len),
        "act_bytes": float(to_dtype(f.compute_dtype).nbytes(1)),
        "weight_bytes": float(f.weight_bytes),
        "grad_bytes": float(f.grad_bytes),
        "grad_comm_bytes": float(f.grad_comm_bytes),
        "gather_bytes": float(f.gather_bytes),
        "cast_bytes": float(f.weight_cast_bytes),
        "opt_bytes": float(recipe.optimizer_bytes),
        "master": 1.0 if f.master_weights else 0.0,
        "act_scale": float(f.activation_scale),
        "unfused": 1.0 if recipe.attention == "unfused" else 0.0,
        "recompute": float(RECOMPUTE_CODES[recipe.recompute.value]),
        "offload": 1.0 if recipe.offload else 0.0,
        "impl": float(IMPL_CODES[recipe.optimizer_impl.value]),
        "ov_dp": float(recipe.overlap.dp),
        "ov_fsdp": float(recipe.overlap.fsdp),
        "ov_tp": float(recipe.overlap.tp),
        "ov_pp": float(recipe.overlap.pp),
        "ov_ep": float(recipe.overlap.ep),
    }


def layout_fields(layout: ParallelLayout, recipe: TrainingRecipe) -> dict[str, float]:
    return {
        "m": float(recipe.global_batch // (layout.micro_batch * layout.dp)),
        "pp": float(layout.pp),
        "v": float(layout.interleave),
        "dp": float(layout.dp),
        "tp": float(layout.tp),
        "cp": float(layout.cp),
        "ep": float(layout.ep),
        "sp": 1.0 if layout.sp else 0.0,
        "mb": float(layout.micro_batch),
        "zero": float(layout.zero),
        "shard": float(layout.shard),
        "schedule": float(SCHEDULE_CODES[layout.schedule.value]),
    }


COLUMN_NAMES = tuple(f for f in Columns.__dataclass_fields__ if f != "stages")


def make_columns(stages: np.ndarray, values: dict[str, Any], n: int) -> Columns:
    """Columns from a (N, P, K) stage array and scalar-or-array values for every field."""
    kw: dict[str, Any] = {}
    for name in COLUMN_NAMES:
        v = np.asarray(values[name], dtype=float)
        kw[name] = np.broadcast_to(v, (n,)) if v.ndim == 0 else v
    return Columns(stages=stages, **kw)


def single(spec: ModelSpec, system: System, layout: ParallelLayout, recipe: TrainingRecipe, eager: bool) -> Columns:
    block = stage_block(spec, system, layout, recipe, eager)
    values: dict[str, Any] = {
        **model_facts(spec),
        **recipe_facts(recipe),
        **layout_fields(layout, recipe),
        "capacity": float(system.device.memory_capacity),
    }
    return make_columns(block[None, :, :], values, 1)
