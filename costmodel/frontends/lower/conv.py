"""Convolutional networks: the building blocks shared with the UNet lowering (conv,
batch / group norm, pooling) and CNN classifiers as stages of one block kind
(`records.CNNSpec`): ResNet basic / bottleneck blocks (He et al. 2016, torchvision v1.5
with the stride on the 3x3), MobileNetV2 inverted residuals (Sandler et al. 2018) and
FasterNet blocks with partial convolution (Chen et al. 2023, "Run, Don't Walk").

Batch norm lowers to ONNX BatchNormalization with its scale and bias as weights and the
running mean and variance as graph inputs: they are buffers (PyTorch's
register_buffer), read at inference but not trained, so they are not parameters (the
count torchvision reports)."""

from __future__ import annotations

from ...ir.activations import Activation
from ..spec import ModelSpec
from .context import Ctx
from .workload import Logits, Phase, Segment, Workload


class ConvCtx(Ctx):
    """A Ctx that also tracks the (channels, height, width) of NCHW activations."""

    def conv(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int,
        name: str,
        *,
        stride: int = 1,
        groups: int = 1,
        bias: bool = False,
        pad: int | None = None,
    ) -> str:
        dt = self.w.dtype
        ins = [x, self.b.weight(f"{name}.weight", (cout, cin // groups, k, k), dt)]
        if bias:
            ins.append(self.b.weight(f"{name}.bias", (cout,), dt))
        p = k // 2 if pad is None else pad
        out: str = self.b.node(
            "Conv", ins, name=name, kernel_shape=[k, k], strides=[stride, stride], pads=[p, p, p, p], group=groups
        )
        return out

    def batch_norm(self, x: str, ch: int, name: str) -> str:
        dt = self.w.dtype
        ins = [
            x,
            self.b.weight(f"{name}.weight", (ch,), dt),
            self.b.weight(f"{name}.bias", (ch,), dt),
            self.b.input(f"{name}.running_mean", (ch,), dt),
            self.b.input(f"{name}.running_var", (ch,), dt),
        ]
        out: str = self.b.node("BatchNormalization", ins, name=name, epsilon=1e-5)
        return out

    def group_norm(self, x: str, ch: int, groups: int, name: str, eps: float = 1e-5) -> str:
        dt = self.w.dtype
        ins = [x, self.b.weight(f"{name}.weight", (ch,), dt), self.b.weight(f"{name}.bias", (ch,), dt)]
        out: str = self.b.node("GroupNormalization", ins, name=name, num_groups=groups, epsilon=eps)
        return out


def out_size(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def _act(c: ConvCtx, x: str, name: str, act: Activation | None = None) -> str:
    return c.act(x, name, act)


def _cbn(
    c: ConvCtx, x: str, cin: int, cout: int, k: int, name: str, stride: int = 1, groups: int = 1, act: bool = True
) -> str:
    """conv (no bias) -> batch norm [-> activation]."""
    y = c.batch_norm(c.conv(x, cin, cout, k, f"{name}.conv", stride=stride, groups=groups), cout, f"{name}.bn")
    return _act(c, y, f"{name}.act") if act else y


def _basic(c: ConvCtx, x: str, cin: int, cout: int, stride: int, name: str) -> str:
    y = _cbn(c, x, cin, cout, 3, f"{name}.1", stride)
    y = _cbn(c, y, cout, cout, 3, f"{name}.2", act=False)
    sc = _cbn(c, x, cin, cout, 1, f"{name}.downsample", stride, act=False) if stride != 1 or cin != cout else x
    return _act(c, c.b.node("Add", [y, sc], name=f"{name}.add"), f"{name}.out")


def _bottleneck(c: ConvCtx, x: str, cin: int, cout: int, stride: int, name: str) -> str:
    mid = cout // c.s.cnn.expansion  # type: ignore[union-attr]
    y = _cbn(c, x, cin, mid, 1, f"{name}.1")
    y = _cbn(c, y, mid, mid, 3, f"{name}.2", stride)
    y = _cbn(c, y, mid, cout, 1, f"{name}.3", act=False)
    sc = _cbn(c, x, cin, cout, 1, f"{name}.downsample", stride, act=False) if stride != 1 or cin != cout else x
    return _act(c, c.b.node("Add", [y, sc], name=f"{name}.add"), f"{name}.out")


def _inverted(c: ConvCtx, x: str, cin: int, cout: int, stride: int, name: str) -> str:
    hidden = cin * c.s.cnn.expansion  # type: ignore[union-attr]
    y = _cbn(c, x, cin, hidden, 1, f"{name}.expand") if hidden != cin else x
    y = _cbn(c, y, hidden, hidden, 3, f"{name}.dw", stride, groups=hidden)
    y = _cbn(c, y, hidden, cout, 1, f"{name}.project", act=False)
    return c.b.node("Add", [y, x], name=f"{name}.add") if stride == 1 and cin == cout else y


def _fasternet(c: ConvCtx, x: str, dim: int, name: str) -> str:
    """PConv (3x3 over dim / partial_ratio channels, the rest untouched), then
    1x1 (dim -> expansion x dim), BN, activation, 1x1 back, residual add."""
    cnn = c.s.cnn
    assert cnn is not None
    part = dim // cnn.partial_ratio
    sizes = c.b.ints(f"{name}.split_sizes", [part, dim - part])
    a, rest = c.b.node("Split", [x, sizes], n_out=2, name=f"{name}.split", axis=1)
    a = c.conv(a, part, part, 3, f"{name}.pconv")
    y = c.b.node("Concat", [a, rest], name=f"{name}.cat", axis=1)
    hidden = dim * cnn.expansion
    y = _cbn(c, y, dim, hidden, 1, f"{name}.mlp.0")
    y = c.conv(y, hidden, dim, 1, f"{name}.mlp.3")
    out: str = c.b.node("Add", [x, y], name=f"{name}.add")
    return out


def lower_cnn(spec: ModelSpec, wl: Workload) -> list[Segment]:
    """The whole classifier as one graph: stem, stages, pooled head."""
    cnn = spec.cnn
    assert cnn is not None  # validated
    fw = Workload(Phase.FORWARD, wl.batch, 1, 0, Logits.NONE, wl.dtype, wl.weight_dtype, wl.kv_dtype)
    c = ConvCtx(spec, fw, "cnn")
    size = spec.image_size
    x = c.b.input("pixel_values", (wl.batch, spec.num_channels, size, size), wl.dtype)
    ch = spec.hidden_size
    if cnn.stem == "resnet":
        x = _cbn(c, x, spec.num_channels, ch, 7, "stem", 2)
        x = c.b.node("MaxPool", [x], name="stem.pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    else:
        k = cnn.stem_kernel
        x = c.batch_norm(c.conv(x, spec.num_channels, ch, k, "stem.conv", stride=k, pad=0), ch, "stem.bn")
    strides = cnn.strides or tuple(1 if i == 0 else 2 for i in range(len(cnn.depths)))
    for si, (depth, width, stride) in enumerate(zip(cnn.depths, cnn.widths, strides)):
        if cnn.block == "fasternet":
            if si > 0:  # patch merging: k x k / k conv to the stage's width, BN
                m = cnn.merge_kernel
                x = c.batch_norm(c.conv(x, ch, width, m, f"merge{si}.conv", stride=m, pad=0), width, f"merge{si}.bn")
                ch = width
            for j in range(depth):
                x = _fasternet(c, x, ch, f"stage{si}.{j}")
            continue
        for j in range(depth):
            s = stride if j == 0 else 1
            block = {"basic": _basic, "bottleneck": _bottleneck, "inverted-residual": _inverted}[cnn.block]
            x = block(c, x, ch, width, s, f"stage{si}.{j}")
            ch = width
    x = c.b.node("GlobalAveragePool", [x], name="pool")
    if cnn.head_width:
        x = _act(c, c.conv(x, ch, cnn.head_width, 1, "head.conv"), "head.act")
        ch = cnn.head_width
    x = c.b.node("Flatten", [x], name="flatten", axis=1)
    c.b.output(c.linear(x, ch, spec.num_classes, "fc", cnn.head_bias, wdt=wl.dtype))
    return [Segment("network", c.b.build())]
