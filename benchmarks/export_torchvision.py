"""Export torchvision classifiers to ONNX the way the acceptance checks describe them:
opset 17, a dynamic batch axis named `batch`, weights stored externally and then the
weight files deleted (costmodel must not need them). Also records torchvision's
published GFLOPS / params per model next to each file (`<name>.meta.json`).

Needs torch + torchvision (not costmodel dependencies); runs on the CPU:
    python benchmarks/export_torchvision.py OUTDIR [model ...]
"""

from __future__ import annotations

import json
import os
import sys

DEFAULT = [
    "alexnet",
    "vgg16",
    "resnet18",
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_b_16",
    "swin_t",
    "maxvit_t",
    "regnet_y_400mf",
    "densenet121",
    "inception_v3",
    "shufflenet_v2_x1_0",
    "squeezenet1_1",
    "vit_l_16",
]


def main(argv: list[str]) -> int:
    import torch
    import torchvision

    out = argv[0]
    names = argv[1:] or DEFAULT
    os.makedirs(out, exist_ok=True)
    for name in names:
        path = os.path.join(out, f"{name}.onnx")
        if os.path.exists(path):
            continue
        weights = torchvision.models.get_model_weights(name).DEFAULT
        model = torchvision.models.get_model(name, weights=None).eval()
        size = weights.transforms().crop_size[0] if hasattr(weights.transforms(), "crop_size") else 224
        if name == "inception_v3":
            size = 299
        x = torch.randn(1, 3, size, size)
        torch.onnx.export(
            model,
            (x,),
            path,
            opset_version=17,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
            external_data=True,
        )
        import onnx

        m = onnx.load(path, load_external_data=False)
        onnx.save(
            m,
            path,
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=f"{name}.onnx.data",
            size_threshold=1024,
        )
        data = path + ".data"
        if os.path.exists(data):
            os.remove(data)
        meta = weights.meta
        info = {
            "name": name,
            "image_size": size,
            "published_gflops": meta.get("_ops"),
            "published_params": meta.get("num_params"),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
        }
        with open(os.path.join(out, f"{name}.meta.json"), "w") as f:
            json.dump(info, f, indent=1, allow_nan=False)
        print(name, info, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
