"""Issue 18: the top-level API exposes every planner, not only `analyze` (the LLM, train
and plan results live in costmodel.planners.*), and each equals its planner's answer."""

from __future__ import annotations

import subprocess
import sys

import costmodel
from costmodel.hardware.profile import HardwareProfile
from costmodel.hardware.systems import System
from costmodel.planners.llm import plan_llm
from costmodel.planners.training import plan_training


def test_every_entry_point_is_listed():
    for name in ("analyze", "llm", "train", "plan_train", "plan_serve", "hardware"):
        assert name in costmodel.__all__ and callable(getattr(costmodel, name)), name


def test_llm_and_train_are_the_planners():
    a = costmodel.llm("llama-3.2-1b", "h100", batch=2, prompt_len=64, output_len=8)
    assert a == plan_llm("llama-3.2-1b", "h100", batch=2, prompt_len=64, output_len=8)
    t = costmodel.train("gpt-2", "h100", gpus=1, global_batch=8, seq_len=256, micro_batch=8)
    assert t.step_latency_s == plan_training("gpt-2", "h100", 1, 8, 256, micro_batch=8).step_latency_s


def test_plan_train_and_plan_serve_take_one_device_or_a_list():
    s = costmodel.plan_train("gpt-2", "h100", 1, 8, 256, 1e8)
    assert s.candidates and s.candidates[0].ok and s.evaluated > 1
    v = costmodel.plan_serve("llama-3.2-1b", "h100", 256, 64, 2.0, 1.0, 0.1, tps=(1,), caps=(0,))
    assert any(c.ok for c in v.candidates)


def test_hardware_is_a_device_or_a_system_and_still_the_package():
    assert isinstance(costmodel.hardware("h100"), HardwareProfile)
    dgx = costmodel.hardware("dgx-h100")
    assert isinstance(dgx, System) and dgx.devices_per_node == 8
    assert costmodel.hardware.get_profile("h100").name == costmodel.hardware("h100").name


def test_hardware_is_callable_before_anything_imports_it():
    code = "import costmodel, sys; print(costmodel.hardware('h200').name)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "h200-sxm-141gb"
