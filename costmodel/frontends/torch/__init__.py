"""PyTorch front end: a module traced by fvcore's JIT tracer, each traced aten op
translated to the ONNX op(s) an export would produce, as one IR graph.

Translate only: nothing here costs. The graph holds the ONNX ops (and `costmodel`-domain
ops where one eager kernel covers what ONNX splits: a linear layer with its bias, a view,
a copy, a tensor factory, a fused elementwise chain), its parameters and buffers as
initializers; `analyze_graph` costs it like every other graph, so FLOPs, MACs,
transcendentals, bytes, parameters, liveness and kernel records follow exactly the ONNX
conventions, and costmodel/traced.py rolls the costs up into the module tree.

fvcore (`fvcore.nn.FlopCountAnalysis`) traces the module with submodule scopes, dispatches
every traced op to a handle, attributes counts to the module tree (`by_module`) and
tracks ops without a handle. What it gets wrong, and what this package does instead:
- one multiply-add is one fvcore "flop": here `macs` is that count and `flops` is
  2 per multiply-add plus the elementwise work (the fvcore handles here return MACs, so
  `FlopCountAnalysis.by_module()` reads as MACs per module);
- bias terms are dropped (linear, addmm, baddbmm, conv), `baddbmm` has no handle,
  `matmul` mis-counts operands with broadcast batch dims (and fails on 1-D ones),
  `einsum` runs numpy on zero arrays of the real shapes (memory) and halves numpy's count
  (wrong for outer products), norms are 4-5 per element without the per-row work;
- `scaled_dot_product_attention`, softmax, every activation, embedding, pooling and
  recurrent layers (LSTM/GRU/RNN) have no handle, and relu, clamp, cat, masked_fill,
  gather, index... are silently ignored (0): here they are all costed, and whatever is
  still unknown is an unsupported row, listed per module (never a silent 0).

Tracing runs on the meta device when it can (a copy of the module whose parameters and
buffers are meta tensors, built without touching their storage), so large models need
none of their memory and no arithmetic runs; ops whose meta kernels cannot run under the
JIT tracer (convolutions, batch norm) fall back to a real trace on CPU.

Causal attention: an ONNX export at opset < 23 writes `scaled_dot_product_attention(...,
is_causal=True)` as MatMul, Add(mask), Softmax, MatMul over every (query, key) pair, so
the default here (`causal_attention="dense"`) counts the same: every pair plus one add per
score for the mask. `causal_attention="skip"` counts only the unmasked pairs S(S+1)/2,
as flash kernels do and as costmodel's fused Attention rule does for opset 23+ graphs.

torch and fvcore are imported lazily (`pip install costmodel[torch]`).

The pipeline, one module per step:
- trace.py: `trace_module` checks its arguments, traces through fvcore on a meta copy
  (falling back to a real CPU trace) with one handle for every op;
- walker.py: on fvcore's first handle call, walks the whole traced graph, node by node,
  into one IR graph;
- op.py: `_Op`, one traced node -> the IR nodes that stand for it;
- table.py and translate_*.py: the aten op -> IR handlers, by op family;
- cli.py: helpers for the command line (`--torch package.module:factory`).
"""

from __future__ import annotations

from .base import CAUSAL_MODES, DEVICES, OPSET
from .cli import load_factory, make_inputs, parse_shape
from .table import TABLE
from .trace import TorchTrace, is_torch_module, trace_module

__all__ = [
    "CAUSAL_MODES",
    "DEVICES",
    "OPSET",
    "TABLE",
    "TorchTrace",
    "is_torch_module",
    "load_factory",
    "make_inputs",
    "parse_shape",
    "trace_module",
]
