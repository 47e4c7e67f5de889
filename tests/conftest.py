import os

import onnx
import pytest

from costmodel.ops.registry import load_all

load_all()

MODEL_ZOO = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


@pytest.fixture(scope="session")
def model_zoo():
    return MODEL_ZOO
