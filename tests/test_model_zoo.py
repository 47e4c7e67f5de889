"""Level 3/4: the nine real model-zoo graphs shipped in the onnx wheel
(onnx/backend/test/data/light), with published MACs/params where they exist, and a
differential check of inferred shapes against onnx's own shape inference."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest

import costmodel

ZOO = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
NAMES = [
    "bvlc_alexnet",
    "densenet121",
    "inception_v1",
    "inception_v2",
    "resnet50",
    "shufflenet",
    "squeezenet",
    "vgg19",
    "zfnet512",
]


def path(name: str) -> str:
    return os.path.join(ZOO, f"light_{name}.onnx")


def float_weight_elements(m: onnx.ModelProto) -> int:
    """Float initializers read by some node, plus the float tensors ConstantOfShape makes
    from shapes. (The caffe2 exports carry an unused 1x1 blob-queue initializer.)"""
    from onnx import numpy_helper

    used = {x for n in m.graph.node for x in n.input}
    inits = {t.name: t for t in m.graph.initializer}
    total = sum(int(np.prod(t.dims)) for t in m.graph.initializer if t.data_type in (1, 10, 11, 16) and t.name in used)
    for n in m.graph.node:
        if n.op_type == "ConstantOfShape" and n.input[0] in inits:
            total += int(np.prod(numpy_helper.to_array(inits[n.input[0]])))
    return total


@pytest.mark.parametrize("name", NAMES)
def test_zoo_graph_fully_supported_and_params_match(name):
    m = onnx.load(path(name), load_external_data=False)
    r = costmodel.analyze(path(name))
    assert r.unsupported == []
    assert r.params == float_weight_elements(m)
    assert r.flops >= 2 * r.macs > 0


def test_resnet50_published_macs():
    # torchvision ResNet-50 v1.5 weights meta: 4.089 GFLOPS = 4,089,184,256 MACs at 224x224
    # (shared/reference/anchors.md "Reference numbers"); the zoo graph has the same convs.
    r = costmodel.analyze(path("resnet50"))
    assert r.macs == 4_089_184_256
    # 25,557,032 trainable params + 2 x 26,560 BatchNorm running statistics in the graph
    assert r.params == 25_557_032 + 2 * 26_560


def test_vgg19_published_numbers():
    # torchvision VGG-19 weights meta: 19,632,062,464 MACs; 143,667,240 params
    r = costmodel.analyze(path("vgg19"))
    assert r.macs == 19_632_062_464
    assert r.params == 143_667_240


def test_alexnet_caffe_macs():
    # BVLC AlexNet on a 224 input (grouped convs): conv1 96x54x54x3x11x11, pool -> 26,
    # conv2 256x26x26x48x5x5 (group 2), pool -> 12, conv3 384x12x12x256x9,
    # conv4 384x12x12x192x9 (group 2), conv5 256x12x12x192x9 (group 2), padded pool -> 6,
    # fc 9216x4096, 4096x4096, 4096x1000
    expected = (
        96 * 54 * 54 * 3 * 121
        + 256 * 26 * 26 * 48 * 25
        + 384 * 144 * 256 * 9
        + 384 * 144 * 192 * 9
        + 256 * 144 * 192 * 9
        + 9216 * 4096
        + 4096 * 4096
        + 4096 * 1000
    )
    r = costmodel.analyze(path("bvlc_alexnet"))
    assert r.macs == expected


@pytest.mark.parametrize("name", ["resnet50", "inception_v2", "shufflenet", "densenet121"])
def test_shapes_agree_with_onnx_shape_inference(name):
    m = onnx.load(path(name), load_external_data=False)
    inferred = onnx.shape_inference.infer_shapes(m, data_prop=True)
    known = {}
    for v in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = v.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            known[v.name] = tuple(d.dim_value for d in dims)
    r = costmodel.analyze(m)
    ours = {}
    for node, nc in zip(m.graph.node, r.ops):
        for o, s in zip(node.output, nc.output_shapes):
            ours[o] = s
    compared = 0
    for name_, shape in known.items():
        if name_ in ours and ours[name_] is not None:
            assert ours[name_] == shape, name_
            compared += 1
    assert compared > 10


def test_cli_json_contract(capsys):
    import json

    from costmodel_cli.main import main

    assert main(["analyze", path("squeezenet"), "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for k in (
        "flops",
        "macs",
        "params",
        "bytes_read",
        "bytes_written",
        "latency_s",
        "unsupported",
        "ops",
        "schema_version",
    ):
        assert k in d
    assert d["macs"] == squeezenet_1_1_macs() == 349_151_936


def squeezenet_1_1_macs() -> int:
    """The zoo graph is SqueezeNet 1.1 at 224 x 224 (forresti/SqueezeNet, SqueezeNet_v1.1:
    conv1 64 x 3x3 stride 2, 3x3/2 max pools after conv1, fire3 and fire5; torchvision's
    squeezenet1_1 weights list 0.349 GFLOPS, i.e. multiply-adds). Spatial sizes 111, 55,
    27, 13; a fire module (squeeze s, expand e + e) on c input channels at h x h costs
    h^2 (c s + s e + 9 s e) MACs."""

    def fire(h: int, c: int, s: int, e: int) -> int:
        return h * h * (c * s + s * e + 9 * s * e)

    conv1 = 111 * 111 * 64 * 3 * 3 * 3
    fires = (
        fire(55, 64, 16, 64)
        + fire(55, 128, 16, 64)
        + fire(27, 128, 32, 128)
        + fire(27, 256, 32, 128)
        + fire(13, 256, 48, 192)
        + fire(13, 384, 48, 192)
        + fire(13, 384, 64, 256)
        + fire(13, 512, 64, 256)
    )
    conv10 = 13 * 13 * 512 * 1000
    return conv1 + fires + conv10
