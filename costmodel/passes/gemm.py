"""GEMMs as libraries run them: leading dims folded into one GEMM, the bias (and an
activation) in the GEMM's epilogue.

- Fold: a [..., M, K] x [K, N] MatMul is one (prod(...) * M) x K by K x N GEMM, not a
  batch of M x K ones. PyTorch: `at::matmul` (aten/src/ATen/native/LinearAlgebra.cpp,
  `_matmul_impl` / `should_fold`) folds the larger operand's leading dims when the
  other is at most 2-D, and `at::linear` (aten/src/ATen/native/Linear.cpp) sends a
  contiguous N-D input with a bias to `_flatten_nd_linear` (one addmm). cuBLAS-backed
  runtimes do the same (ONNX Runtime's MatMul kernel flattens a 2-D right operand's
  batch, TensorRT's matrix-multiply layer).
  Not folded: a left operand of rank 2 with a batched right operand (W @ x[B]: PyTorch
  broadcasts W and runs a batched GEMM), or both operands batched (bmm).
- Bias epilogue: an Add of a 1-D resident bias [N] to the product, where nothing else
  reads the product, runs in the GEMM's epilogue (PyTorch's addmm through cuBLASLt with
  CUBLASLT_EPILOGUE_BIAS, seen as `..._bias_` GEMM kernels in the H200 profile of
  torchvision ViT in benchmarks/data; ONNX Runtime's MatMulAddFusion to Gemm; TensorRT
  fuses bias into its GEMM/convolution tactics).
- Activation epilogue (`act`): TensorRT fuses a following ReLU/GELU into the GEMM
  (TensorRT developer guide, "Layer Fusion": "Convolution and ReLU Activation",
  "MatrixMultiply and activation"; cuBLASLt's GELU_BIAS epilogue).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ir.graph import Graph, Node
from .rewrite import Facts, Found, Group, Index

EPILOGUE_ACTIVATIONS = frozenset({"Relu", "Gelu", "Sigmoid", "Tanh", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish"})


def _bias(add: Node, product: str, facts: Facts) -> bool:
    """`add` adds a resident 1-D (or all-but-last-dims-1) bias to `product`."""
    if add.op_type != "Add" or add.domain not in ("", "ai.onnx") or len(add.inputs) != 2 or not facts.joinable(add):
        return False
    other = add.inputs[1] if add.inputs[0] == product else add.inputs[0]
    if other == product or not facts.resident(other):
        return False
    bs, ps = facts.shape(other), facts.shape(product)
    if bs is None or ps is None or not bs:
        return False
    return bs[-1] == ps[-1] and all(d == 1 for d in bs[:-1])


def linear(
    *, fold: bool = True, bias_nd: bool = True, bias_2d: bool = False, activation: frozenset[str] = frozenset()
) -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    """MatMul [+ bias Add] [+ activation] as one GEMM. `fold`: fold leading dims of an
    N-D x 2-D product; `bias_nd` / `bias_2d`: take the bias into the epilogue when the
    left operand is N-D (a Linear over [B, S, K]) / 2-D (a MatMul + Add PyTorch would
    run as two kernels: `nn.Linear` on 2-D exports as Gemm); `activation`: op types
    fused after the bias (TensorRT)."""

    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        out: list[Found] = []
        for n in idx.order:
            if n.op_type != "MatMul" or n.domain not in ("", "ai.onnx") or not facts.costed(n):
                continue
            ra, rb = facts.rank(n.inputs[0]), facts.rank(n.inputs[1])
            if ra is None or rb is None:
                continue
            folds = fold and ra >= 3 and rb == 2
            members = [n]
            tail = n.outputs[0]
            user = idx.only_user(tail)
            if user is not None and ((ra >= 3 and bias_nd) or (ra == 2 and bias_2d)) and _bias(user, tail, facts):
                members.append(user)
                tail = user.outputs[0]
                user = idx.only_user(tail)
            if user is not None and user.op_type in activation and facts.joinable(user) and user.inputs[0] == tail:
                members.append(user)
            if not folds and len(members) == 1:
                continue
            out.append(Group(tuple(members), "FusedContraction", n, {"fold": 1} if folds else {}))
        return out

    return find


def epilogue(
    activation: frozenset[str], *, batch_norm: bool = True, residual: bool = True
) -> Callable[[Graph, Facts, Index], Sequence[Found]]:
    """A convolution (or Gemm) and what its epilogue runs: a BatchNormalization (folded
    into the weights when the engine is built), a residual sum of a tensor of the output's
    shape, an activation. TensorRT developer guide, "Layer Fusion": Convolution and
    Scale / BatchNorm, Convolution and ElementWise sum, Convolution and ReLU; ONNX
    Runtime: ConvBNFusion, ConvAddFusion (onnxruntime/core/optimizer/) and FusedConv's
    sum input with ConvActivationFusion."""

    def find(graph: Graph, facts: Facts, idx: Index) -> list[Found]:
        out: list[Found] = []
        claimed: set[int] = set()  # a residual sum joins the first branch that reaches it
        for n in idx.order:
            if n.op_type not in ("Gemm", "Conv") or n.domain not in ("", "ai.onnx") or not facts.costed(n):
                continue
            members = [n]
            y = n.outputs[0]
            for step in ("BatchNormalization", "Add", "act"):
                u = idx.only_user(y)
                if u is None or u.domain not in ("", "ai.onnx") or not facts.joinable(u) or id(u) in claimed:
                    break
                if step == "BatchNormalization" and batch_norm and u.op_type == step and u.inputs[0] == y:
                    pass
                elif step == "Add" and residual and u.op_type in ("Add", "Sum") and n.op_type == "Conv":
                    others = [x for x in u.inputs if x != y]
                    if len(others) != 1 or facts.shape(others[0]) != facts.shape(y):
                        continue
                elif step == "act" and u.op_type in activation and u.inputs[0] == y:
                    pass
                else:
                    continue
                members.append(u)
                y = u.outputs[0]
            if len(members) == 1:
                continue
            claimed.update(id(m) for m in members)
            out.append(Group(tuple(members), "FusedContraction" if n.op_type == "Gemm" else "FusedConv", n))
        return out

    return find


__all__ = ["EPILOGUE_ACTIVATIONS", "epilogue", "linear"]
