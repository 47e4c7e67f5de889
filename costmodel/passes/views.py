"""Transposes an exporter writes as copies that an eager framework runs as views.

PyTorch's `permute` / `transpose` make views; a kernel reading one either reads through
strides or copies first, and only the second is a kernel of its own:

- into a contraction (MatMul / Gemm operand): cuBLAS takes transposed operands through
  its op flags, and `at::matmul` reads a batched operand through its strides (the K^T
  of an attention, nn.MultiheadAttention's batch-first transposes): a view;
- into a normalization over the last axis, moving the channels last (torchvision
  ConvNeXt's `Permute([0, 2, 3, 1])` before LayerNorm): the convolution before it wrote
  channels-last (cuDNN's NHWC kernels, `conv2d_c1_k1_nhwc_specialized` in the H200
  profile of ConvNeXt in benchmarks/data), so the permuted tensor is contiguous and no
  copy runs;
- into one elementwise op (ConvNeXt's `Permute([0, 3, 1, 2])` before the layer-scale
  Mul): the elementwise kernel reads the permuted view with a strided, non-vectorized
  loop (TensorIterator's `elementwise_kernel<128, 4>` in the same profile): one kernel
  at transpose bandwidth, not a copy and a vectorized kernel;
- into a convolution, moving the channels back first (the Permute([0, 3, 1, 2]) of
  ConvNeXt's LayerNorm2d before a downsampling convolution): a channels-last tensor
  cuDNN reads as it is;
- anything else (a Reshape merging permuted axes, Swin's window partition): a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ir.graph import Graph, Node
from .rewrite import DOMAIN, Facts, Found, Group, Index, View

CONTRACTIONS = ("MatMul", "Gemm")
NORMS = ("LayerNormalization", "RMSNormalization")
ELEMENTWISE = ("Add", "Sub", "Mul", "Div")


def _channels_last(perm: Sequence[int]) -> bool:
    r = len(perm)
    return r >= 3 and list(perm) == [0, *range(2, r), 1]


def _channels_first(perm: Sequence[int]) -> bool:
    r = len(perm)
    return r >= 3 and list(perm) == [0, r - 1, *range(1, r - 1)]


def _reads_strided(u: Node) -> bool:
    if u.domain in ("", "ai.onnx") and u.op_type in CONTRACTIONS:
        return True
    return u.domain == DOMAIN and u.op_type == "FusedContraction"


def _norm(u: Node) -> bool:
    if u.domain in ("", "ai.onnx") and u.op_type in NORMS:
        return True
    return u.domain == DOMAIN and u.op_type == "FusedNormalization"


def _onnx_conv(u: Node) -> bool:
    return u.domain in ("", "ai.onnx") and u.op_type == "Conv"


def eager_views() -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        out: list[Found] = []
        for n in idx.order:
            if n.op_type != "Transpose" or n.domain not in ("", "ai.onnx") or not facts.costed(n):
                continue
            y = n.outputs[0]
            users = idx.users(y)
            if not users or y in idx.outputs:
                continue
            perm = n.attrs.get("perm")
            if all(_reads_strided(u) for u in users):
                out.append(View(n))
            elif len(users) == 1 and _norm(users[0]) and perm is not None and _channels_last(perm):
                out.append(View(n))
            elif len(users) == 1 and _onnx_conv(users[0]) and perm is not None and _channels_first(perm):
                out.append(View(n))  # back to NCHW sizes over channels-last memory: cuDNN reads it as is
            elif (
                len(users) == 1
                and users[0].domain in ("", "ai.onnx")
                and users[0].op_type in ELEMENTWISE
                and facts.joinable(users[0])
            ):
                out.append(Group((n, users[0]), "FusedElementwise", users[0], {"strided": 1}))
        return out

    return find


__all__ = ["eager_views"]
