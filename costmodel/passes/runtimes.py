"""The runtimes a model can be priced under: each is its rewrite passes, in order, plus
the dispatch facts the engine needs, declared here in one record per runtime.

`none` prices one kernel per graph node (the graph as exported); the others price the
kernels that runtime launches for it (passes/rewrite.py explains the mechanism; each
pass module cites the runtime code or docs its rule comes from).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CostModelError
from . import activation, attention, gemm, norm, pointwise, views
from .rewrite import Rewrite


@dataclass(frozen=True)
class Runtime:
    """`rewrites`: applied in order. `conv_bias_kernel`: whether a convolution's bias
    (or the batch norm an exporter folded into it) runs as an elementwise kernel of its
    own (None: the device calibration's figure, measured under PyTorch + cuDNN).
    `execution`: the default execution mode (engine/modes.py Execution value).
    `runs_code_eagerly`: the runtime executes a model's own Python code op by op, so a
    graph lowered from that code (Graph.eager_code: a Hugging Face class's forward with
    attn_implementation="eager", its hand-written RMSNorm, its Python-formula GELU) is
    already the runtime's kernels and no pass applies: eager PyTorch does not turn
    `torch.matmul(q, k.transpose(2, 3))`, a scale, a mask add, softmax and a second matmul
    into SDPA, nor the copies that bmm makes of head-split operands into views.
    `summary`: one line for listings and reports."""

    name: str
    summary: str
    rewrites: tuple[Rewrite, ...] = ()
    conv_bias_kernel: bool | None = None
    execution: str = "auto"
    runs_code_eagerly: bool = False


LINEAR_TORCH = Rewrite(
    "linear",
    gemm.linear(fold=True, bias_nd=True, bias_2d=False),
    "aten/src/ATen/native/Linear.cpp (linear -> _flatten_nd_linear -> addmm with the bias in the cuBLASLt "
    "epilogue); LinearAlgebra.cpp _matmul_impl / should_fold",
)
SDPA = Rewrite(
    "sdpa",
    attention.fuse(sdpa_only=True, views=True, mha=True),
    "torch.nn.functional.scaled_dot_product_attention (flash / memory-efficient / cuDNN kernels) and "
    "nn.MultiheadAttention's fast path (aten/src/ATen/native/transformers/attention.cpp)",
)
GELU_LN = Rewrite(
    "activations",
    activation.activations(gelu=True, swish=True),
    "GeluCUDAKernelImpl and silu_kernel: one kernel each (aten/src/ATen/native/cuda/ActivationGeluKernel.cu, "
    "ActivationSiluKernel.cu)",
)
NORMS = Rewrite(
    "norms",
    norm.norms(layer=True, rms=True),
    "vectorized_layer_norm_kernel (aten/src/ATen/native/cuda/layer_norm_kernel.cu); _fused_rms_norm",
)
EAGER_VIEWS = Rewrite(
    "views", views.eager_views(), "permute/transpose are views (aten/src/ATen/native/TensorShape.cpp)"
)
ANY_ATTENTION = Rewrite(
    "attention",
    attention.fuse(sdpa_only=False, views=True),
    "torch/_inductor/fx_passes/fuse_attention.py (_sfdp_pattern_*); onnxruntime AttentionFusion; TensorRT MHA fusion",
)
LINEAR_ALL = Rewrite(
    "linear",
    gemm.linear(fold=True, bias_nd=True, bias_2d=True),
    "cuBLAS GEMM with a bias epilogue; onnxruntime MatMulAddFusion (core/optimizer/matmul_add_fusion.cc), "
    "matmul_helper.h folds an N-D x 2-D product",
)
POINTWISE = Rewrite(
    "pointwise",
    pointwise.fuse_pointwise(),
    "torch/_inductor/scheduler.py can_fuse (vertical and reduction fusion); TensorRT PointWise fusion",
)
RESIDUAL_NORM = Rewrite(
    "residual-norm",
    norm.residual_norm(),
    "onnxruntime SkipLayerNormalization (transformers/fusion_skiplayernorm.py); vLLM fused_add_rms_norm "
    "(csrc/layernorm_kernels.cu)",
)
TRT_LINEAR = Rewrite(
    "linear",
    gemm.linear(fold=True, bias_nd=True, bias_2d=True, activation=gemm.EPILOGUE_ACTIVATIONS),
    "TensorRT developer guide, Layer Fusion: MatrixMultiply + bias + activation",
)
TRT_EPILOGUE = Rewrite(
    "epilogue",
    gemm.epilogue(gemm.EPILOGUE_ACTIVATIONS),
    "TensorRT developer guide, Layer Fusion: Convolution + Scale/BatchNorm, + ElementWise sum, + ReLU; "
    "Gemm + activation",
)
ORT_EPILOGUE = Rewrite(
    "conv-epilogue",
    gemm.epilogue(frozenset({"Relu", "Sigmoid", "Tanh", "LeakyRelu", "Clip", "HardSigmoid"})),
    "onnxruntime ConvBNFusion, ConvAddFusion, ConvActivationFusion (core/optimizer/) -> FusedConv",
)
SILU_AND_MUL = Rewrite(
    "silu-and-mul",
    activation.silu_and_mul(),
    "vllm/model_executor/layers/activation.py SiluAndMul (csrc/activation_kernels.cu)",
)

RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        Runtime("none", "one kernel per graph node, as exported (no rewrite)"),
        Runtime(
            "pytorch",
            "PyTorch eager (CUDA graphs with --execution graph): folded Linear GEMMs with bias epilogues, "
            "SDPA where the model calls it, one kernel per GELU / SiLU / LayerNorm / RMSNorm, views",
            (SDPA, LINEAR_TORCH, GELU_LN, NORMS, EAGER_VIEWS),
            runs_code_eagerly=True,
        ),
        Runtime(
            "torch-compile",
            "torch.compile (Inductor): cuBLAS GEMMs, attention chains as SDPA, pointwise and reduction chains "
            "fused into one Triton kernel per group",
            (ANY_ATTENTION, LINEAR_TORCH, GELU_LN, NORMS, POINTWISE),
            conv_bias_kernel=False,
        ),
        Runtime(
            "onnxruntime",
            "ONNX Runtime, CUDA execution provider: Attention, Gelu, (Skip)LayerNorm, FusedConv and Gemm fusions",
            (ANY_ATTENTION, LINEAR_ALL, GELU_LN, NORMS, RESIDUAL_NORM, ORT_EPILOGUE, EAGER_VIEWS),
        ),
        Runtime(
            "tensorrt",
            "TensorRT: fused MHA, GEMM / convolution + bias + activation epilogues, pointwise fusion",
            (ANY_ATTENTION, TRT_LINEAR, TRT_EPILOGUE, GELU_LN, NORMS, POINTWISE),
            conv_bias_kernel=False,
            execution="graph",
        ),
        Runtime(
            "vllm",
            "vLLM: fused attention (paged for decode), fused residual-add + RMSNorm, SiLU-and-mul, "
            "CUDA graphs for decode",
            (ANY_ATTENTION, LINEAR_TORCH, GELU_LN, NORMS, SILU_AND_MUL, RESIDUAL_NORM),
        ),
    )
}
NAMES = tuple(RUNTIMES)


def get_runtime(runtime: Runtime | str | None) -> Runtime:
    """A runtime by name (None: `none`), or the Runtime given."""
    if runtime is None:
        return RUNTIMES["none"]
    if isinstance(runtime, Runtime):
        return runtime
    r = RUNTIMES.get(str(runtime).strip().lower())
    if r is None:
        raise CostModelError(f"unknown runtime {runtime!r}; use one of {', '.join(NAMES)}")
    return r


__all__ = ["NAMES", "RUNTIMES", "Runtime", "get_runtime"]
