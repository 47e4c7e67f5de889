"""Capacity planning: search executions under memory and goal constraints.

Training: training_search.py (hardware x layout x micro-batch x recompute x ZeRO for the
time or cost of training on N tokens). Serving: search_serving.py (replicas x layout x
batch cap x weight quantization under TTFT / TPOT SLOs at a request rate, on the
continuous-batching load model). Both are re-exported here; every candidate is kept,
feasible ones ranked by the goal, rejected ones with the reason."""

from __future__ import annotations

from .search_serving import search_serving
from .training_search import search_training

__all__ = ["search_serving", "search_training"]
