"""Per-graph lowering state and the building blocks every lowering shares: norms, linear
layers (bias in the GEMM epilogue), activations, fused-projection splits, views, MLPs."""

from __future__ import annotations

from typing import Any

from ...ir.activations import ACTIVATION_OPS, EAGER_FORMULAS, Activation
from ...ir.dtypes import FP32, ONNX_CODES, DType
from ..builder import GraphBuilder
from ..spec import ModelSpec
from ..spec.architectures import MLPKind, Norm
from .workload import Workload


class Ctx:
    """The builder of one graph, with the spec and workload it lowers."""

    def __init__(self, spec: ModelSpec, wl: Workload, name: str, prefix: str = "") -> None:
        self.s = spec
        self.w = wl
        self.b = GraphBuilder(name, prefix)

    @property
    def bs(self) -> tuple[Any, Any]:
        """(batch, new positions) of this workload."""
        return self.w.batch, self.w.seq

    def norm(self, x: str, d: int, name: str, kind: Norm | None = None) -> str:
        kind = kind or self.s.norm
        g = self.b.weight(f"{name}.weight", (d,), self.w.dtype)
        if kind is Norm.RMSNORM:
            if self.w.eager_code:
                return self._eager_rms_norm(x, g, name)
            out: str = self.b.node("RMSNormalization", [x, g], name=name, axis=-1)
            return out
        ins = [x, g]
        if self.s.norm_bias:
            ins.append(self.b.weight(f"{name}.bias", (d,), self.w.dtype))
        out = self.b.node("LayerNormalization", ins, name=name, axis=-1)
        return out

    def _eager_rms_norm(self, x: str, g: str, name: str) -> str:
        """transformers' RMSNorm modules (T5LayerNorm, LlamaRMSNorm ...) are Python:
        x.pow(2).mean(-1, keepdim=True), + eps, rsqrt, x * that, weight * that: six
        kernels, three of them over the whole tensor (rsqrt and the product stand as Sqrt
        and Div: one kernel each, same traffic)."""
        b, dt = self.b, self.w.dtype
        var = b.node(
            "ReduceMean",
            [b.node("Pow", [x, b.input(f"{name}.two", (), dt)], name=f"{name}.square"), b.ints(f"{name}.axes", [-1])],
            name=f"{name}.mean",
            keepdims=1,
        )
        root = b.node(
            "Sqrt", [b.node("Add", [var, b.input(f"{name}.eps", (), dt)], name=f"{name}.add_eps")], name=f"{name}.rsqrt"
        )
        y = b.node("Div", [x, root], name=f"{name}.normalize")
        out: str = b.node("Mul", [g, y], name=f"{name}.scale")
        return out

    def linear(
        self,
        x: str,
        k: int,
        n: int,
        name: str,
        bias: bool = False,
        weight: str | None = None,
        trans: bool = False,
        wdt: DType | None = None,
        x_dtype: DType | None = None,
        quantizable: bool = True,
    ) -> str:
        """A linear layer. Under a workload's gemm_dtype a block linear (its own weight in
        the workload's weight dtype) is a quantized GEMM: x (in x_dtype, default the
        activations') is quantized by a kernel of its own unless it already is in the GEMM
        dtype, as TensorRT-LLM's FP8 linear does (tensorrt_llm/_torch/modules/linear.py,
        FP8QDQLinearMethod.apply: static_quantize_e4m3_per_tensor of a non-fp8 input, then
        cublas_scaled_mm with out_dtype the module's 16-bit dtype). `quantizable=False`:
        a block linear checkpoints keep 16-bit (a MoE router)."""
        quantized = self.w.gemm_dtype is not None and weight is None and quantizable
        quantized = quantized and (wdt is None or wdt == self.w.wdt)
        kept = not quantizable and self.w.gemm_dtype is not None  # 16-bit in a quantized checkpoint
        w = weight or self.b.weight(f"{name}.weight", (k, n), wdt or (self.w.dtype if kept else self.w.wdt))
        attrs: dict[str, Any] = {"transB": 1} if trans else {}
        if quantized:
            x = self.quantize(x, name, x_dtype)
            attrs["output_dtype"] = ONNX_CODES[self.w.dtype.name]
        ins = [x, w]
        if bias:
            ins.append(self.b.weight(f"{name}.bias", (n,), self.w.dtype))
        out: str = self.b.node("Linear", ins, domain="costmodel", name=name, **attrs)
        return out

    def quantize(self, x: str, name: str, x_dtype: DType | None = None) -> str:
        """x (in x_dtype, default the activations') in the workload's GEMM dtype: as it is
        when it already is, else through a per-tensor quantize kernel."""
        gdt = self.w.gemm_dtype
        if gdt is None or (x_dtype or self.w.dtype) == gdt:
            return x
        y: str = self.b.node(
            "QuantizeLinear",
            [x, self.b.input(f"{name}.input_scale", (), FP32)],
            name=f"{name}.quantize",
            output_dtype=ONNX_CODES[gdt.name],
        )
        return y

    def act(self, x: str, name: str, activation: Activation | None = None) -> str:
        """The activation as its IR op (ir/activations.py), squared for relu2; in the
        model's own eager code a Python-formula activation is one kernel per operation."""
        if activation is None and self.w.eager_code and self.s.activation_formula:
            return self._formula(x, name, EAGER_FORMULAS[self.s.activation_formula])
        spec = ACTIVATION_OPS[activation or self.s.activation]
        attrs: dict[str, Any] = dict(spec.attrs)
        y: str = self.b.node(spec.op_type, [x], name=name, domain=spec.domain, **attrs)
        if spec.squared:
            y = self.b.node("Mul", [y, y], name=name + ".square")
        return y

    def _formula(self, x: str, name: str, steps: tuple[tuple[str, str, str], ...]) -> str:
        vals: list[str] = []

        def operand(ref: str, k: int) -> str:
            if ref == "x":
                return x
            if ref == "c":  # a Python float: a 0-d operand, no parameter
                return self.b.input(f"{name}.c{k}", (), self.w.dtype)
            return vals[int(ref)]

        for k, (op_type, a, b) in enumerate(steps):
            ins = [operand(a, k)] + ([operand(b, k)] if b else [])
            vals.append(self.b.node(op_type, ins, name=f"{name}.{k}"))
        return vals[-1]

    def split(self, x: str, sizes: list[int], name: str) -> tuple[str, ...]:
        out: tuple[str, ...] = self.b.node(
            "SplitView", [x], n_out=len(sizes), domain="costmodel", name=name, sizes=tuple(sizes)
        )
        return out

    def view(self, t: str, shape: tuple[Any, ...], name: str) -> str:
        out: str = self.b.node("View", [t], domain="costmodel", name=name, shape=tuple(shape))
        return out

    def mlp(self, x: str, inter: int, name: str) -> str:
        s, d = self.s, self.s.hidden_size
        if s.mlp is MLPKind.GATED:
            if s.fused_gate_up:
                gu = self.linear(x, d, 2 * inter, f"{name}.gate_up", s.mlp_bias)
                gate, up = self.split(gu, [inter, inter], f"{name}.split")
            else:
                gate = self.linear(x, d, inter, f"{name}.gate", s.mlp_bias)
                up = self.linear(x, d, inter, f"{name}.up", s.mlp_bias)
            h: str = self.b.node("Mul", [self.act(gate, f"{name}.act"), up], name=f"{name}.mul")
        else:
            h = self.act(self.linear(x, d, inter, f"{name}.up", s.mlp_bias), f"{name}.act")
        return self.linear(h, inter, d, f"{name}.down", s.mlp_bias)
