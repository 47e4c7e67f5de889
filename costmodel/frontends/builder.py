"""Build IR graphs directly (the spec front end): the same Node / Initializer records the
ONNX front end makes, so every analysis, report and hardware model applies."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.dtypes import DType, INT64
from ..ir.graph import Graph, Initializer, Node
from ..symbolic import Shape

OPSETS = {"": 23, "com.microsoft": 1, "costmodel": 1}


class GraphBuilder:
    def __init__(self, name: str, prefix: str = "") -> None:
        self.name = name
        self.prefix = prefix
        self.nodes: list[Node] = []
        self.inits: dict[str, Initializer] = {}
        self.inputs: list[str] = []
        self.declared: dict[str, tuple[DType | None, Shape | None]] = {}
        self.outputs: list[str] = []
        self._n = 0

    def _fresh(self, base: str) -> str:
        self._n += 1
        return f"{self.prefix}{base}_{self._n}"

    def input(self, name: str, shape: Shape, dtype: DType) -> str:
        self.inputs.append(name)
        self.declared[name] = (dtype, tuple(shape))
        return name

    def weight(self, name: str, shape: Shape, dtype: DType) -> str:
        full = self.prefix + name
        if full not in self.inits:
            self.inits[full] = Initializer(full, dtype, tuple(int(d) for d in shape), None)
        return full

    def shared_weight(self, full_name: str, shape: Shape, dtype: DType) -> str:
        """A weight shared across layers/segments under one global name (tied embeddings)."""
        if full_name not in self.inits:
            self.inits[full_name] = Initializer(full_name, dtype, tuple(int(d) for d in shape), None)
        return full_name

    def ints(self, name: str, values: list[int]) -> str:
        full = self.prefix + name
        data = np.empty(len(values), dtype=object)
        data[:] = list(values)  # may hold symbolic dims (sympy), as shape arithmetic does
        self.inits[full] = Initializer(full, INT64, (len(values),), data)
        return full

    def node(
        self, op_type: str, inputs: list[str], n_out: int = 1, domain: str = "", name: str | None = None, **attrs: Any
    ) -> Any:
        nm = self.prefix + (name or op_type.lower())
        if any(n.name == nm for n in self.nodes[-64:]):
            nm = self._fresh(name or op_type.lower())
        outs = tuple(f"{nm}:{i}" for i in range(n_out))
        self.nodes.append(Node(nm, op_type, domain, tuple(inputs), outs, dict(attrs)))
        return outs[0] if n_out == 1 else outs

    def output(self, name: str) -> None:
        self.outputs.append(name)

    def build(self) -> Graph:
        return Graph(self.name, self.nodes, self.inputs, self.outputs, self.inits, self.declared, dict(OPSETS))
