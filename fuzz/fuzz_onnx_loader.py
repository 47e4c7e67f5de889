"""atheris harness for the ONNX loader and analysis (coverage-guided fuzzing).

    pip install atheris
    python fuzz/fuzz_onnx_loader.py fuzz/corpus -max_total_time=600

Any exception other than a CostModelError is a finding (the harness re-raises it)."""

from __future__ import annotations

import os
import shutil
import sys

import atheris

with atheris.instrument_imports():
    import costmodel
    from costmodel.errors import CostModelError


def seed_corpus(folder: str) -> None:
    import onnx

    os.makedirs(folder, exist_ok=True)
    zoo = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    for f in os.listdir(zoo):
        if f.endswith(".onnx") and os.path.getsize(os.path.join(zoo, f)) < 100_000:
            shutil.copy(os.path.join(zoo, f), os.path.join(folder, f))


def one_input(data: bytes) -> None:
    import onnx

    m = onnx.ModelProto()
    try:
        m.ParseFromString(data)
    except Exception:  # noqa: BLE001 - not a protobuf: the loader's own path handles files
        return
    try:
        costmodel.analyze(m)
    except CostModelError:
        pass


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        seed_corpus(sys.argv[1])
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
